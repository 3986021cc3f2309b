"""The `roadlink` command: the demo, each tier on its own, and the replay tool.

roadlink demo [--mqtt-url URL] [--speed X] [--duration S] [--loop]
roadlink gateway|roadside|cloud [--config FILE]     (settings also from ROADLINK_<TIER>_* env vars)
roadlink replay --mqtt-url URL [--topic T] [--speed X] [--loop]
roadlink decode [HEX | --file F] [--standard j2735|csae53|etsi] [--vendor-header] [--offset N] [--v1]
                [--reference-ms MS]
roadlink encode --file F [--v1] [--standard j2735|csae53|etsi]

`decode` of a J2735 capture without --v1 prints `roadlink.codec.field_tools.decode_hex`'s document (its v1
messages with provenance.air_message, so `encode --v1` of it gives the frame back). Otherwise
(CSAE 53, ETSI, or --v1) it prints one document for the payload:

    {"standard": ..., "frames": [{"message": "BSM", "frame_hex": ..., "raw": JER (J2735, CSAE; not with --v1),
                                  "v1_type": "v2x.vehicle.v1.VehicleState", "v1": [proto JSON, ...]}, ...]}

A CSAE payload with --vendor-header is split by its vendor envelope (default `VendorFraming`) into its frames.
Each v1 message carries its frame in provenance.air_message, so `encode --v1` of the document gives back every
frame's octets exactly, also after the v1 fields were edited (see `roadlink.codec.lossless`); a v1 message
written without air_message needs --standard. `encode` prints one hex line per frame: from "raw" (J2735, CSAE)
unless --v1 is given or there is no raw, and from "frame_hex" for a frame with neither.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from roadlink.domain.errors import ConfigurationError, ValidationError

STANDARDS = ("j2735", "csae53", "etsi")

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="roadlink", description="V2X vehicle-road-cloud middleware")
    parser.add_argument("--log-level", default="WARNING", help="Python logging level (default WARNING)")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="run every tier in one process on embedded defaults")
    demo.add_argument("--mqtt-url", help="use this broker instead of the embedded one (mqtt://host:port)")
    demo.add_argument("--speed", type=float, default=1.0, help="replay speed factor (0 = as fast as possible)")
    demo.add_argument("--duration", type=float, default=0.0, help="stop after this many seconds (0 = replay end)")
    demo.add_argument("--loop", action="store_true", help="repeat the recording until stopped")
    demo.add_argument(
        "--fused", action="store_true", help="run the cloud's fusion tracker instead of latest-per-source"
    )
    for tier in ("gateway", "roadside", "cloud"):
        tier_parser = sub.add_parser(tier, help=f"run the {tier} tier alone")
        tier_parser.add_argument("--config", type=Path, help=f"TOML file; its [{tier}] table is read")
    replay = sub.add_parser("replay", help="publish the embedded radar recording to a broker")
    replay.add_argument("--mqtt-url", required=True)
    replay.add_argument("--topic", default=None, help="topic (default rsu/<device>/radar/radar0)")
    replay.add_argument("--speed", type=float, default=1.0)
    replay.add_argument("--loop", action="store_true")
    decode = sub.add_parser("decode", help="decode a captured air-side message (hex or binary file) to JSON")
    decode.add_argument("hex", nargs="?", help="hex payload (spaces allowed); or use --file")
    decode.add_argument("--file", type=Path, help="binary capture file")
    decode.add_argument("--offset", type=int, default=None, help="octet where the MessageFrame starts")
    decode.add_argument("--reference-ms", type=int, default=None, help="unix ms that resolves partial times (now)")
    decode.add_argument("--standard", choices=STANDARDS, default="j2735", help="message family (default j2735)")
    decode.add_argument("--vendor-header", action="store_true", help="CSAE: the payload has the vendor envelope")
    decode.add_argument("--v1", action="store_true", help="print the v1 messages only (they encode back exactly)")
    encode = sub.add_parser("encode", help="encode the JSON printed by `roadlink decode` back to hex frames")
    encode.add_argument("--file", type=Path, required=True, help="JSON file ('-' for standard input)")
    encode.add_argument("--v1", action="store_true", help="encode from the v1 messages, not the raw decode")
    encode.add_argument("--standard", choices=STANDARDS, default=None, help="for v1 messages without air_message")
    return parser


def _decode(args: argparse.Namespace) -> int:
    from roadlink.codec.field_tools import decode_hex
    from roadlink.domain.clock import now_unix_ms

    payload: str | bytes = args.file.read_bytes() if args.file else (args.hex or "")
    reference = args.reference_ms if args.reference_ms is not None else now_unix_ms()
    from roadlink.codec.air_documents import decode_document, with_air_messages

    if args.standard == "j2735" and not args.v1:
        document = with_air_messages(decode_hex(payload, offset=args.offset, reference_unix_ms=reference), reference)
        print(json.dumps(document, indent=2))
        return 0

    options = {"offset": args.offset, "vendor_header": args.vendor_header, "v1_only": args.v1}
    print(json.dumps(decode_document(payload, args.standard, reference, **options), indent=2))
    return 0


def _encode(args: argparse.Namespace) -> int:
    from roadlink.codec.air_documents import encode_document
    from roadlink.codec.field_tools import encode_json

    text = sys.stdin.read() if str(args.file) == "-" else args.file.read_text(encoding="utf-8")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationError("not_json", f"{args.file}: {exc}") from exc
    if isinstance(document, dict) and "frames" in document:
        frames = encode_document(document, from_v1=args.v1, standard=args.standard)
    elif args.v1 and isinstance(document, dict) and "v1" in document:
        frames = encode_document({"standard": "j2735", "frames": [document]}, from_v1=True, standard=args.standard)
    elif args.v1:
        raise ValidationError("wrong_shape", "--v1 needs a document printed by `roadlink decode`")
    else:
        frames = [encode_json(document)]
    print("\n".join(frame.hex() for frame in frames))
    return 0


async def _until_signal(run: Callable[[asyncio.Event], Awaitable[None]]) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await run(stop)


async def _run_tier(tier: str, config: Path | None, stop: asyncio.Event) -> None:
    if tier == "cloud":
        from cloud.node import CloudNode
        from cloud.settings import CloudSettings

        async with CloudNode(CloudSettings.load(config)) as cloud:
            print(f"cloud node listening on port {cloud.port}", flush=True)
            await stop.wait()
    elif tier == "roadside":
        from roadside.node import RoadsideNode
        from roadside.settings import RoadsideSettings

        async with RoadsideNode(RoadsideSettings.load(config)) as roadside:
            print(f"roadside node listening on port {roadside.port}", flush=True)
            await stop.wait()
    else:
        from gateway.node import GatewayNode
        from gateway.settings import GatewaySettings

        async with GatewayNode(GatewaySettings.load(config)) as gateway:
            print("gateway running", flush=True)
            connected = asyncio.create_task(gateway.source.connected.wait())
            stopped = asyncio.create_task(stop.wait())
            await asyncio.wait([connected, stopped], return_when=asyncio.FIRST_COMPLETED)
            if connected.done():
                print("gateway subscribed", flush=True)
            connected.cancel()
            await stopped


async def _run_replay(args: argparse.Namespace, stop: asyncio.Event) -> None:
    import aiomqtt

    from gateway.mqtt_source import broker_address
    from roadlink.replay import DEFAULT_RADAR_TOPIC, replay
    from roadlink.samples import load_radar_recording

    host, port = broker_address(args.mqtt_url)
    async with aiomqtt.Client(host, port) as client:
        count = await replay(
            client,
            load_radar_recording(),
            args.topic or DEFAULT_RADAR_TOPIC,
            speed=args.speed,
            loop=args.loop,
            stop=stop,
        )
    print(f"published {count} messages")


async def _run_demo(args: argparse.Namespace, stop: asyncio.Event) -> None:
    from roadlink.demo import DemoOptions, run_demo

    options = DemoOptions(
        mqtt_url=args.mqtt_url, speed=args.speed, duration_s=args.duration, loop=args.loop, fused=args.fused
    )
    demo = asyncio.create_task(run_demo(options, emit=lambda line: print(line, flush=True)))
    stopper = asyncio.create_task(stop.wait())
    await asyncio.wait([demo, stopper], return_when=asyncio.FIRST_COMPLETED)
    stopper.cancel()
    if not demo.done():
        demo.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await demo


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `roadlink` console command."""
    args = _parser().parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        if args.command in ("decode", "encode"):
            return _decode(args) if args.command == "decode" else _encode(args)
        if args.command == "demo":
            asyncio.run(_until_signal(lambda stop: _run_demo(args, stop)))
        elif args.command == "replay":
            asyncio.run(_until_signal(lambda stop: _run_replay(args, stop)))
        else:
            asyncio.run(_until_signal(lambda stop: _run_tier(args.command, args.config, stop)))
    except (ConfigurationError, ValidationError) as error:
        print(f"roadlink {args.command}: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
