"""OEM quickstart: connect, publish the vehicle's state at 10 Hz, follow the situation around it, and
(with --rsu) receive what a nearby roadside unit broadcasts.

    python examples/oem_quickstart.py --target 127.0.0.1:50071 --seconds 10
    python examples/oem_quickstart.py --target 127.0.0.1:50071 --rsu 127.0.0.1:50061 --seconds 10
    python examples/oem_quickstart.py --target node.example:443 --ca-cert ca.pem --token "$ROADLINK_TOKEN"

The simulated vehicle drives north at 10 m/s. Each situation update is printed on one line; advisories and
signal states get lines of their own; what the RSU sends is printed on lines starting with `rsu`. The last
line is a summary. Exit status 1 with `error: CODE: ...` on
stderr when the node cannot be reached or refuses the vehicle.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import time
from dataclasses import dataclass

from roadlink.sdk import (
    Advisory,
    ObjectClass,
    PerceptionFrame,
    Position,
    RoadsideFeed,
    RoadSideInfo,
    RoadsideMap,
    RoadsideUpdate,
    ServiceError,
    SignalPhaseAndTiming,
    Situation,
    SituationFeed,
    TlsCredentials,
    VehicleClient,
    VehicleState,
)

VEHICLE_ID = bytes.fromhex("0e000001")
START = Position(39.0742, 115.9325)
SPEED_MPS = 10.0
METRES_PER_DEGREE_LATITUDE = 111_195.0
PUBLISH_PERIOD_S = 0.1  # 10 Hz


def vehicle_state(elapsed_s: float, message_count: int) -> VehicleState:
    """Where the simulated vehicle is now. A real integration reads this from the vehicle bus and GNSS."""
    north_m = SPEED_MPS * elapsed_s
    return VehicleState(
        temporary_id=VEHICLE_ID,
        time_unix_ms=time.time_ns() // 1_000_000,
        position=Position(START.latitude_deg + north_m / METRES_PER_DEGREE_LATITUDE, START.longitude_deg),
        message_count=message_count % 128,
        speed_mps=SPEED_MPS,
        heading_deg=0.0,
        vehicle_class=ObjectClass.PASSENGER_CAR,
    )


def handle_advisory(advisory: Advisory) -> None:
    """React to a hazard warning: here, print it. A real integration shows it to the driver or the ADAS."""
    when = f" in {advisory.time_to_event_s:.1f} s" if advisory.time_to_event_s is not None else ""
    print(f"  advisory {advisory.severity.name} {advisory.type.name}{when}: {advisory.description}")


def handle_signal(signal: SignalPhaseAndTiming) -> None:
    """Show the current phase of each signal group of an intersection."""
    phases = ", ".join(f"group {m.signal_group}: {m.events[0].phase.name}" for m in signal.movements if m.events)
    print(f"  signal {signal.intersection_id}: {phases}")


@dataclass
class Summary:
    """What the run saw."""

    updates: int = 0
    own_vehicle_seen: bool = False
    advisories: int = 0
    rsu_updates: int = 0


def report(situation: Situation, summary: Summary) -> None:
    """Print one update and hand its advisories and signal states to their handlers."""
    own = situation.track_of(VEHICLE_ID)
    summary.updates += 1
    summary.own_vehicle_seen |= own is not None
    summary.advisories += len(situation.advisories)
    where = (
        f"own vehicle at {own.position.latitude_deg:.6f},{own.position.longitude_deg:.6f}"
        if own
        else "own vehicle not yet seen"
    )
    print(f"situation #{situation.sequence}: {len(situation.tracks)} tracks, {where}")
    for advisory in situation.advisories:
        handle_advisory(advisory)
    for signal in situation.signal_timings:
        handle_signal(signal)


def report_roadside(update: RoadsideUpdate, summary: Summary) -> None:
    """Print one item the RSU sent, by kind."""
    summary.rsu_updates += 1
    match update.content:
        case RoadsideMap() as lane_map:
            for crossing in lane_map.intersections:
                print(f"rsu map: intersection {crossing.intersection_id} with {len(crossing.lanes)} lanes")
        case SignalPhaseAndTiming() as signal:
            handle_signal(signal)
        case PerceptionFrame() as frame:
            print(f"rsu objects: {len(frame.objects)} from {frame.source_id}")
        case Advisory() as advisory:
            summary.advisories += 1
            handle_advisory(advisory)
        case RoadSideInfo() as info:
            for event in info.events:
                print(f"  rsu event {event.code_system.name} {event.event_type}: {event.description}")


async def watch_situation(feed: SituationFeed, summary: Summary) -> None:
    """Report every situation update."""
    async for situation in feed:
        report(situation, summary)


async def watch_roadside(feed: RoadsideFeed, summary: Summary) -> None:
    """Report every item the RSU sends."""
    async for update in feed:
        report_roadside(update, summary)


async def drive(client: VehicleClient) -> None:
    """Publish the vehicle's state at 10 Hz (publish_state never blocks on the network)."""
    started = time.monotonic()
    count = 0
    while True:
        count += 1
        await client.publish_state(vehicle_state(time.monotonic() - started, count))
        await asyncio.sleep(PUBLISH_PERIOD_S)


async def run(client: VehicleClient, seconds: float, radius_m: float, rsu: str | None = None) -> Summary:
    """Drive and watch the situation around the vehicle (and what the RSU at `rsu` sends) for `seconds`."""
    summary = Summary()
    await client.publish_state(vehicle_state(0.0, 0))  # the first position centres the watched area
    driver = asyncio.create_task(drive(client))
    try:
        async with client.follow_situation(radius_m) as feed, contextlib.AsyncExitStack() as feeds:
            watchers = [watch_situation(feed, summary)]
            if rsu is not None:  # the RSU is told where the vehicle is as it publishes
                watchers.append(watch_roadside(await feeds.enter_async_context(client.follow_roadside(rsu)), summary))
            try:
                async with asyncio.timeout(seconds):
                    await asyncio.gather(*watchers)
            except TimeoutError:
                pass  # the run is over
            print(f"area moved {feed.moves} times, reconnects: {feed.reconnects}")
    finally:
        driver.cancel()
        await asyncio.gather(driver, return_exceptions=True)
    return summary


def tls_from(args: argparse.Namespace) -> TlsCredentials | None:
    """TLS settings from the command line (None = plaintext, for a local node)."""
    if not (args.tls or args.ca_cert or args.client_cert):
        return None
    return TlsCredentials.from_files(args.ca_cert, args.client_cert, args.client_key, server_name=args.server_name)


async def main(args: argparse.Namespace) -> int:
    """Connect, run, and print the summary; errors become exit status 1."""
    try:
        async with VehicleClient(
            args.target, tls=tls_from(args), access_token=args.token, connect_timeout_s=args.connect_timeout
        ) as client:
            print(f"connected to {args.target}")
            summary = await run(client, args.seconds, args.radius, args.rsu)
            stats = client.publish_stats
    except ServiceError as error:
        print(f"error: {error.code.name}: {error.message}", file=sys.stderr)
        return 1
    seen = "yes" if summary.own_vehicle_seen else "no"
    print(
        f"summary: updates={summary.updates} own_vehicle_seen={seen} advisories={summary.advisories} "
        f"states_sent={stats.states_sent} publish_reconnects={stats.reconnects}"
        + (f" rsu_updates={summary.rsu_updates}" if args.rsu else "")
    )
    return 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--target", required=True, help="the node's VehicleService, host:port")
    parser.add_argument("--rsu", help="a roadside node's address, host:port: print what it broadcasts")
    parser.add_argument("--seconds", type=float, default=10.0, help="how long to drive (default 10)")
    parser.add_argument("--radius", type=float, default=300.0, help="radius of the watched area, m (default 300)")
    parser.add_argument("--token", default=os.environ.get("ROADLINK_TOKEN"), help="bearer token (env ROADLINK_TOKEN)")
    parser.add_argument("--tls", action="store_true", help="use TLS with the system's trusted roots")
    parser.add_argument("--ca-cert", help="PEM file of the CA that signed the node's certificate (implies TLS)")
    parser.add_argument("--client-cert", help="PEM certificate of this vehicle, for mutual TLS")
    parser.add_argument("--client-key", help="PEM private key of this vehicle, for mutual TLS")
    parser.add_argument("--server-name", help="name to check the node's certificate against")
    parser.add_argument("--connect-timeout", type=float, default=10.0, help="seconds to wait for the node")
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse_args())))
