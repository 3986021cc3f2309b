"""The C++ and Java stubs that scripts/gen_stubs makes from proto/ are complete and build.

Generation runs once per module into a temporary directory. The C++ stubs are compiled with g++
against Debian's libprotobuf and libgrpc++ and linked into a small program that round-trips a
`VehicleState` and creates a `RoadsideService` stub; the Java stubs (messages and `*Grpc` service
classes) are compiled with javac against Debian's protobuf-java and grpc-java jars and run the same
way. Both programs print the wire bytes, which the Python stubs must parse to the same value.

A missing tool fails these tests, as it does in CI: scripts/test installs Debian's packages. They
skip only on a machine without apt-get, where those packages cannot be installed.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from v2x.vehicle.v1 import vehicle_pb2

ROOT = Path(__file__).resolve().parent.parent
PROTO_DIR = ROOT / "proto"
GEN_STUBS = ROOT / "scripts" / "gen_stubs"
JAVA_JAR_DIR = Path("/usr/share/java")
JAVA_JARS = {
    "protobuf.jar": "libprotobuf-java",
    "grpc-api.jar": "libgrpc-java",
    "grpc-context.jar": "libgrpc-java",
    "grpc-core.jar": "libgrpc-java",
    "grpc-protobuf.jar": "libgrpc-java",
    "grpc-stub.jar": "libgrpc-java",
    "guava.jar": "libguava-java",
    "geronimo-annotation-1.3-spec.jar": "libgeronimo-annotation-1.3-spec-java",
}
"""Jars the generated Java compiles and runs against, in Debian's /usr/share/java, with their package."""
COMPILE_JOBS = 2
SPEED_MPS = 13.5

CPP_MAIN = """\
#include <iomanip>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>

#include <grpcpp/grpcpp.h>

#include "v2x/roadside/v1/roadside_service.grpc.pb.h"
#include "v2x/vehicle/v1/vehicle.pb.h"

int main() {
    v2x::vehicle::v1::VehicleState state;
    state.set_speed_mps(SPEED_MPS);
    std::string wire;
    if (!state.SerializeToString(&wire)) return 1;
    v2x::vehicle::v1::VehicleState parsed;
    if (!parsed.ParseFromString(wire)) return 2;
    std::ostringstream hex;
    for (unsigned char byte : wire) hex << std::hex << std::setw(2) << std::setfill('0') << int(byte);
    std::cout << "speed_mps=" << parsed.speed_mps() << " has_speed_mps=" << parsed.has_speed_mps() << "\\n";
    std::cout << "wire=" << hex.str() << "\\n";
    auto channel = grpc::CreateChannel("127.0.0.1:1", grpc::InsecureChannelCredentials());
    std::unique_ptr<v2x::roadside::v1::RoadsideService::Stub> stub =
        v2x::roadside::v1::RoadsideService::NewStub(channel);
    std::cout << "stub=" << (stub ? "ok" : "null") << std::endl;
    return 0;
}
""".replace("SPEED_MPS", repr(SPEED_MPS))

JAVA_MAIN = """\
import io.grpc.ManagedChannel;
import io.grpc.inprocess.InProcessChannelBuilder;
import v2x.roadside.v1.RoadsideServiceGrpc;
import v2x.vehicle.v1.Vehicle.VehicleState;

public final class StubsSmoke {
    public static void main(String[] args) throws Exception {
        VehicleState state = VehicleState.newBuilder().setSpeedMps(SPEED_MPS).build();
        byte[] wire = state.toByteArray();
        VehicleState parsed = VehicleState.parseFrom(wire);
        StringBuilder hex = new StringBuilder();
        for (byte b : wire) hex.append(String.format("%02x", b));
        System.out.println("speed_mps=" + parsed.getSpeedMps() + " has_speed_mps=" + parsed.hasSpeedMps());
        System.out.println("wire=" + hex);
        ManagedChannel channel = InProcessChannelBuilder.forName("roadlink-stubs-smoke").build();
        RoadsideServiceGrpc.RoadsideServiceStub stub = RoadsideServiceGrpc.newStub(channel);
        System.out.println("stub=" + (stub != null ? "ok" : "null"));
        channel.shutdownNow();
    }
}
""".replace("SPEED_MPS", repr(SPEED_MPS))
"""The stub gets an in-process channel (grpc-core): Debian packages no grpc-java network transport (netty,
okhttp), so an insecure channel to 127.0.0.1:1 as in C++ cannot be built from its jars."""


@dataclass(frozen=True)
class ProtoFile:
    """What the tests expect protoc to generate for one .proto file."""

    path: Path
    """Relative to proto/, e.g. v2x/vehicle/v1/vehicle.proto."""
    messages: tuple[str, ...]
    """Top-level message names."""
    services: tuple[str, ...]
    java_package: str
    java_outer_class: str
    java_multiple_files: bool


def _strip_comments(text: str) -> str:
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.DOTALL)
    return re.sub(r"(^|\s)//.*$", "", text, flags=re.MULTILINE)


def _camel(stem: str) -> str:
    """protoc's file-name-to-Java-class rule: vehicle_service -> VehicleService, v2x -> V2X."""
    words = re.split(r"[^A-Za-z0-9]+", stem)
    joined = "".join(word[:1].upper() + word[1:] for word in words)
    return re.sub(r"(?<=[0-9])[a-z]", lambda match: match.group(0).upper(), joined)


def _option(text: str, name: str) -> str | None:
    match = re.search(rf'^option\s+{name}\s*=\s*"?([\w.]+)"?\s*;', text, flags=re.MULTILINE)
    return match.group(1) if match else None


def _parse(path: Path) -> ProtoFile:
    text = _strip_comments(path.read_text(encoding="utf-8"))
    package = re.search(r"^package\s+([\w.]+)\s*;", text, flags=re.MULTILINE)
    assert package, f"{path} has no package"
    # protoc appends OuterClass when a message, enum or service anywhere in the file has the class name.
    every_name = set(re.findall(r"^\s*(?:message|enum|service)\s+(\w+)", text, flags=re.MULTILINE))
    outer = _option(text, "java_outer_classname") or _camel(path.stem)
    if outer in every_name and _option(text, "java_outer_classname") is None:
        outer += "OuterClass"
    return ProtoFile(
        path=path.relative_to(PROTO_DIR),
        messages=tuple(re.findall(r"^message\s+(\w+)", text, flags=re.MULTILINE)),
        services=tuple(re.findall(r"^service\s+(\w+)", text, flags=re.MULTILINE)),
        java_package=_option(text, "java_package") or package.group(1),
        java_outer_class=outer,
        java_multiple_files=_option(text, "java_multiple_files") == "true",
    )


PROTOS = tuple(_parse(path) for path in sorted(PROTO_DIR.rglob("*.proto")))


def _missing_generators() -> list[str]:
    missing = [
        f"{tool} ({package})"
        for tool, package in (("protoc", "protobuf-compiler"), ("grpc_cpp_plugin", "protobuf-compiler-grpc"))
        if shutil.which(tool) is None
    ]
    if shutil.which("protoc-gen-grpc-java") is None and shutil.which("grpc_java_plugin") is None:
        missing.append("grpc_java_plugin (protobuf-compiler-grpc-java-plugin)")
    return missing


def _missing_cpp_toolchain() -> list[str]:
    tools = (("g++", "g++"), ("pkg-config", "pkgconf"))
    missing = [f"{tool} ({package})" for tool, package in tools if shutil.which(tool) is None]
    if not missing:
        for library, package in (("protobuf", "libprotobuf-dev"), ("grpc++", "libgrpc++-dev")):
            if subprocess.run(["pkg-config", "--exists", library], check=False).returncode != 0:
                missing.append(f"pkg-config {library} ({package})")
    return missing


def _missing_java_toolchain() -> list[str]:
    missing = [f"{tool} (default-jdk-headless)" for tool in ("javac", "java") if shutil.which(tool) is None]
    jars = {JAVA_JAR_DIR / jar: package for jar, package in JAVA_JARS.items()}
    missing += [f"{jar} ({package})" for jar, package in jars.items() if not jar.is_file()]
    return missing


def _require(missing: list[str]) -> None:
    """Fail on a missing tool (CI and every machine with apt-get); skip only where apt-get is absent."""
    if not missing:
        return
    message = f"missing {', '.join(missing)}; run scripts/test, which apt-get installs them"
    if os.environ.get("CI") or shutil.which("apt-get"):
        pytest.fail(message, pytrace=False)
    pytest.skip(f"no apt-get on this machine to install Debian's stub toolchain: {message}")


def _run(command: Sequence[str | Path], *, cwd: Path | None = None, timeout_s: float = 120) -> str:
    """Run a command; on failure, fail the test with its output. Returns stdout."""
    result = subprocess.run(
        [str(part) for part in command], cwd=cwd, capture_output=True, text=True, timeout=timeout_s, check=False
    )
    if result.returncode != 0:
        pytest.fail(f"{shlex.join(map(str, command))} exited {result.returncode}:\n{result.stdout}{result.stderr}")
    return result.stdout


def _pkg_config(*args: str) -> list[str]:
    return shlex.split(_run(["pkg-config", *args, "protobuf", "grpc++"]))


def _assert_prints_round_trip(stdout: str) -> None:
    lines = dict(line.split("=", 1) for line in stdout.split() if "=" in line)
    assert float(lines["speed_mps"]) == SPEED_MPS, stdout
    assert lines["has_speed_mps"] in {"1", "true"}, stdout
    assert lines["stub"] == "ok", stdout
    from_python = vehicle_pb2.VehicleState.FromString(bytes.fromhex(lines["wire"]))
    assert from_python.HasField("speed_mps")
    assert from_python.speed_mps == SPEED_MPS


@pytest.fixture(scope="module")
def stubs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The directory scripts/gen_stubs generated into: cpp/ and java/."""
    _require(_missing_generators())
    out = tmp_path_factory.mktemp("stubs")
    _run(["bash", GEN_STUBS, "--out", out], timeout_s=60)
    return out


def test_the_contract_has_protos_and_services() -> None:
    assert len(PROTOS) >= 2
    assert "RoadsideService" in {service for proto in PROTOS for service in proto.services}
    assert "VehicleState" in {message for proto in PROTOS for message in proto.messages}


def test_gen_stubs_names_the_missing_debian_packages(tmp_path: Path) -> None:
    absent = tmp_path / "absent"
    env = {**os.environ, "PROTOC": str(absent), "GRPC_CPP_PLUGIN": str(absent), "GRPC_JAVA_PLUGIN": str(absent)}
    result = subprocess.run(
        ["bash", GEN_STUBS, "--out", tmp_path / "out"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode != 0
    for package in ("protobuf-compiler", "protobuf-compiler-grpc", "protobuf-compiler-grpc-java-plugin"):
        assert f"(Debian package {package})" in result.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("proto", PROTOS, ids=lambda proto: str(proto.path))
def test_cpp_sources_for_every_proto(stubs: Path, proto: ProtoFile) -> None:
    base = stubs / "cpp" / proto.path.with_suffix("")
    header = Path(f"{base}.pb.h")
    assert header.is_file()
    assert Path(f"{base}.pb.cc").is_file()
    for message in proto.messages:
        assert re.search(rf"\bclass {message} final\b", header.read_text(encoding="utf-8")), message
    if proto.services:
        grpc_header = Path(f"{base}.grpc.pb.h")
        assert Path(f"{base}.grpc.pb.cc").is_file()
        for service in proto.services:
            assert re.search(rf"\bclass {service} final\b", grpc_header.read_text(encoding="utf-8")), service


@pytest.mark.parametrize("proto", PROTOS, ids=lambda proto: str(proto.path))
def test_java_sources_for_every_proto(stubs: Path, proto: ProtoFile) -> None:
    package_dir = stubs / "java" / proto.java_package.replace(".", "/")
    outer = package_dir / f"{proto.java_outer_class}.java"
    assert outer.is_file()
    for message in proto.messages:
        if proto.java_multiple_files:
            assert (package_dir / f"{message}.java").is_file(), message
        else:
            assert f"public static final class {message} extends" in outer.read_text(encoding="utf-8"), message
    for service in proto.services:
        grpc_class = package_dir / f"{service}Grpc.java"
        assert f"public final class {service}Grpc" in grpc_class.read_text(encoding="utf-8")


@pytest.mark.timeout(300)
def test_cpp_stubs_compile_link_and_run(stubs: Path, tmp_path: Path) -> None:
    """Every generated .cc compiles (two at a time); a program using a message and a stub links and runs."""
    _require(_missing_cpp_toolchain())
    cpp = stubs / "cpp"
    (tmp_path / "main.cc").write_text(CPP_MAIN, encoding="utf-8")
    sources = [*sorted(cpp.rglob("*.cc")), tmp_path / "main.cc"]
    assert len(sources) == 1 + 2 * len(PROTOS)
    cflags = ["-std=c++17", "-O0", "-g0", f"-I{cpp}", *_pkg_config("--cflags")]
    objects = [tmp_path / "obj" / f"{index:03d}_{source.stem}.o" for index, source in enumerate(sources)]
    objects[0].parent.mkdir()
    with ThreadPoolExecutor(max_workers=COMPILE_JOBS) as pool:
        compiled = [
            pool.submit(_run, ["g++", *cflags, "-c", source, "-o", obj], timeout_s=240)
            for source, obj in zip(sources, objects, strict=True)
        ]
        for future in compiled:
            future.result()
    program = tmp_path / "stubs_smoke"
    _run(["g++", "-o", program, *objects, *_pkg_config("--libs")])
    _assert_prints_round_trip(_run([program], timeout_s=30))


@pytest.mark.timeout(300)
def test_java_stubs_compile_and_run(stubs: Path, tmp_path: Path) -> None:
    """Every generated .java (messages and *Grpc services) compiles; a program using both runs."""
    _require(_missing_java_toolchain())
    (tmp_path / "StubsSmoke.java").write_text(JAVA_MAIN, encoding="utf-8")
    sources = [*sorted((stubs / "java").rglob("*.java")), tmp_path / "StubsSmoke.java"]
    classes = tmp_path / "classes"
    classpath = os.pathsep.join([str(classes), *(str(JAVA_JAR_DIR / jar) for jar in JAVA_JARS)])
    _run(["javac", "-nowarn", "-encoding", "UTF-8", "-d", classes, "-cp", classpath, *sources], timeout_s=240)
    _assert_prints_round_trip(_run(["java", "-cp", classpath, "StubsSmoke"], timeout_s=60))
