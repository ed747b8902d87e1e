"""A frozen collection: one run's `collect/` stage packed so that a workshop can start at notebook 02.

Serving the teacher and collecting from it is the slow part of a laptop run (notebook 01).
An instructor packs the collect stage of the published run once:

    python -m casestudy.scenario.frozen pack runs/workshop          # or: make frozen RUN=runs/workshop

which writes `data/frozen/<profile>-collect.tar.xz` and `<archive>.sha256` (the format of
`sha256sum`, so `sha256sum -c` checks it too). Participants then run notebook 01 with
`source = "frozen"` (`make report PROFILE=workshop SET="01_collect.source=frozen"`): the
archive's checksum is checked, its files are unpacked into the run's `collect/` and checked
one by one against the archive's own list, and the provider's settings are pointed at this
machine's paths. Nothing is served and nothing is collected.

What the archive keeps (everything notebooks 02, 03 and 04 read):

    main/ and control/   records.jsonl, topk.bin, topk.idx.jsonl, manifest.json   (02, 04)
    provider/            settings.json, control_settings.json (the secret watermark key), ledger.sqlite (04)
    metrics.json         the collect stage's figures (03)
    FROZEN.json          where the archive came from, and every file's SHA-256

What it drops, and why:

    provider/accounts.sqlite   the API accounts' key hashes: no later notebook reads them
    the post-trained teacher   ~540 MB of float32 weights in the cache; notebook 01 rebuilds it
                               from the same recipe (cached afterwards) for notebook 04's probe of
                               the deployed teacher, and checks that its fingerprint is the archive's
    anything else              partial files (*.tmp), SQLite side files, notebook outputs

The records and top-k files are unpacked byte for byte, so notebook 02's fingerprint of its
inputs (`casestudy.artifacts.fingerprint`: file names and contents, not paths or times) is the
one the published run computed: 02 does not see the frozen collection as different data.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import sys
import tarfile
import tempfile
import time
from pathlib import Path, PurePosixPath
from typing import Any

from casestudy.artifacts import METRICS_FILE, file_digest
from casestudy.paths import DATA_DIR, cache_dir
from casestudy.provider.private import write_private_text
from casestudy.provider.settings import ProviderSettings
from casestudy.scenario.deployments import PROVIDER_DIR, SETTINGS_FILES

FROZEN_DIR = DATA_DIR / "frozen"
MANIFEST = "FROZEN.json"
FORMAT = 1
ARM_FILES = ("records.jsonl", "topk.bin", "topk.idx.jsonl", "manifest.json")
PROVIDER_FILES = (*SETTINGS_FILES.values(), "ledger.sqlite")
PRIVATE = {f"{PROVIDER_DIR}/{name}" for name in PROVIDER_FILES}  # unpacked readable by the owner only
DROPPED = {
    f"{PROVIDER_DIR}/accounts.sqlite": "the API accounts' key hashes: no later notebook reads them",
    "post-trained teacher (cache)": "~540 MB of weights; notebook 01 rebuilds it from the same recipe, cached",
}


class FrozenError(RuntimeError):
    """A frozen archive that is missing, altered, or made for other settings."""


def archive_path(profile: str, directory: Path = FROZEN_DIR) -> Path:
    """Where the frozen collection of a profile lives: `data/frozen/<profile>-collect.tar.xz`."""
    return Path(directory) / f"{profile}-collect.tar.xz"


def checksum_path(archive: Path) -> Path:
    return Path(str(archive) + ".sha256")


def kept_files(collect_dir: Path) -> list[str]:
    """The collect stage's files that go into the archive (POSIX paths relative to `collect_dir`)."""
    collect_dir = Path(collect_dir)
    names = [f"{arm}/{name}" for arm in ("main", "control") for name in ARM_FILES]
    names += [f"{PROVIDER_DIR}/{name}" for name in PROVIDER_FILES] + [METRICS_FILE]
    present = [n for n in names if (collect_dir / n).is_file()]
    missing = [n for n in ("main/records.jsonl", "main/manifest.json", METRICS_FILE,
                           f"{PROVIDER_DIR}/{SETTINGS_FILES['main']}") if n not in present]
    if missing:
        raise FrozenError(f"{collect_dir} lacks {missing}: run notebook 01 to the end first")
    return present


def teacher_fingerprint(settings_file: Path) -> str | None:
    """The post-trained teacher's cache folder name (its fingerprint), or None for a public model."""
    source = json.loads(Path(settings_file).read_text()).get("model_source", "")
    path = PurePosixPath(source.replace("\\", "/"))
    return path.name if path.parent.name == "posttrain" else None


def pack(run: Path, out: Path | None = None, note: str = "") -> Path:
    """Pack `<run>/collect` into `out` (default `data/frozen/<profile>-collect.tar.xz`) and its .sha256."""
    run = Path(run)
    collect_dir = run / "collect"
    names = kept_files(collect_dir)
    metrics = json.loads((collect_dir / METRICS_FILE).read_text())
    out = Path(out) if out else archive_path(run.name)
    out.parent.mkdir(parents=True, exist_ok=True)
    manifest = {
        "format": FORMAT,
        "profile": run.name,
        "packed_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "note": note,
        "parameters": metrics.get("parameters", {}),
        "device": metrics.get("device"),
        "teacher_fingerprint": teacher_fingerprint(collect_dir / PROVIDER_DIR / SETTINGS_FILES["main"]),
        "files": {name: {"sha256": file_digest(collect_dir / name), "bytes": (collect_dir / name).stat().st_size}
                  for name in names},
        "dropped": DROPPED,
    }
    tmp = out.with_name(out.name + ".partial")
    with tarfile.open(tmp, "w:xz", preset=9) as tar:
        data = json.dumps(manifest, indent=2, sort_keys=True).encode()
        info = tarfile.TarInfo(MANIFEST)
        info.size, info.mtime, info.mode = len(data), int(time.time()), 0o644
        tar.addfile(info, io.BytesIO(data))
        for name in names:
            info = tar.gettarinfo(collect_dir / name, arcname=name)
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            info.mode = 0o600 if name in PRIVATE else 0o644
            with open(collect_dir / name, "rb") as handle:
                tar.addfile(info, handle)
    os.replace(tmp, out)
    checksum_path(out).write_text(f"{file_digest(out)}  {out.name}\n")
    return out


def verify_checksum(archive: Path) -> str:
    """The archive's SHA-256, after checking it against `<archive>.sha256`; FrozenError otherwise."""
    archive = Path(archive)
    if not archive.is_file():
        raise FrozenError(f"no frozen collection at {archive}: the instructor hands it out (or packs it with "
                          f"`make frozen RUN=runs/<profile>`), or run notebook 01 with source='live'")
    sums = checksum_path(archive)
    if not sums.is_file():
        raise FrozenError(f"{sums} is missing: the archive's checksum cannot be checked")
    expected = sums.read_text().split()[0].lower()
    actual = file_digest(archive)
    if actual != expected:
        raise FrozenError(f"{archive.name} is damaged or altered: SHA-256 {actual[:16]}…, expected "
                          f"{expected[:16]}… ({sums.name}); download it again")
    return actual


def safe_members(tar: tarfile.TarFile) -> list[tarfile.TarInfo]:
    """Regular files with plain relative names only: no links, no absolute paths, no `..`."""
    members = []
    for member in tar.getmembers():
        parts = PurePosixPath(member.name).parts
        if not member.isfile() or member.name.startswith("/") or ".." in parts or "\\" in member.name:
            raise FrozenError(f"refusing archive member {member.name!r}: not a plain relative file")
        members.append(member)
    return members


def read_json_member(archive: Path, name: str) -> dict[str, Any]:
    """One JSON file of the archive, read without unpacking it."""
    with tarfile.open(archive, "r:*") as tar:
        try:
            handle = tar.extractfile(name)
        except KeyError:
            handle = None
        if handle is None:
            raise FrozenError(f"{Path(archive).name} has no {name}")
        return json.loads(handle.read())


def read_manifest(archive: Path) -> dict[str, Any]:
    """The archive's FROZEN.json: origin, parameters, every file's SHA-256."""
    return read_json_member(archive, MANIFEST)


def unpack(archive: Path, collect_dir: Path) -> dict[str, Any]:
    """Check `archive`, unpack it into `collect_dir` (replacing what is there), point the settings here.

    Returns the archive's manifest with `sha256` (of the archive) and `archive` (its path) added.
    """
    archive, collect_dir = Path(archive), Path(collect_dir)
    digest = verify_checksum(archive)
    collect_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=collect_dir.parent, prefix=".frozen-") as tmp:
        with tarfile.open(archive, "r:*") as tar:
            for member in safe_members(tar):
                target = Path(tmp, *PurePosixPath(member.name).parts)
                target.parent.mkdir(parents=True, exist_ok=True)
                with tar.extractfile(member) as src, open(target, "wb") as dst:
                    shutil.copyfileobj(src, dst)
        manifest = json.loads(Path(tmp, MANIFEST).read_text())
        if manifest.get("format") != FORMAT:
            raise FrozenError(f"{archive.name} has format {manifest.get('format')}, this code reads {FORMAT}")
        for name, entry in manifest["files"].items():
            path = Path(tmp, *PurePosixPath(name).parts)
            if not path.is_file() or file_digest(path) != entry["sha256"]:
                raise FrozenError(f"{archive.name}: {name} does not match the archive's list")
        for name in manifest["files"]:
            target = collect_dir / Path(*PurePosixPath(name).parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            if name in PRIVATE:
                target.unlink(missing_ok=True)
                write_private_text(target, "")  # created 0600 before the secret goes in
            os.replace(Path(tmp, *PurePosixPath(name).parts), target)
            if name in PRIVATE:
                target.chmod(0o600)
    for side in ("-wal", "-shm", "-journal"):  # an older ledger's side files would corrupt the new one
        (collect_dir / PROVIDER_DIR / f"ledger.sqlite{side}").unlink(missing_ok=True)
    localise_settings(collect_dir, manifest.get("teacher_fingerprint"))
    return {**manifest, "sha256": digest, "archive": str(archive)}


def localise_settings(collect_dir: Path, fingerprint: str | None) -> None:
    """Point the unpacked deployments' settings at this machine: its run folder, its model cache."""
    provider_dir = Path(collect_dir) / PROVIDER_DIR
    for arm, name in SETTINGS_FILES.items():
        path = provider_dir / name
        if not path.is_file():
            continue
        settings = ProviderSettings.load(path)
        settings.accounts_db = str((provider_dir / "accounts.sqlite").resolve())
        settings.ledger_db = str((provider_dir / "ledger.sqlite").resolve())
        if arm == "main" and fingerprint:
            settings.model_source = str(cache_dir() / "posttrain" / fingerprint)
        settings.save(path)


def started_frozen(run: Path) -> bool:
    """Whether `run`'s collect stage was unpacked from a frozen collection (its notebook 01 took seconds)."""
    path = Path(run) / "collect" / METRICS_FILE
    return path.is_file() and (json.loads(path.read_text()).get("source") or {}).get("kind") == "frozen"


def describe(meta: dict[str, Any]) -> str:
    """One sentence naming the frozen data a run used."""
    return (f"the frozen collection `{Path(meta['archive']).name}` (SHA-256 {meta['sha256'][:16]}…, packed "
            f"{meta.get('packed_at', '?')} from a `{meta.get('profile', '?')}` run on {meta.get('device', '?')})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m casestudy.scenario.frozen", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("pack", help="pack <run>/collect into data/frozen/<profile>-collect.tar.xz")
    p.add_argument("run", type=Path, help="a finished run directory, e.g. runs/workshop")
    p.add_argument("--out", type=Path, help="archive path (default: data/frozen/<profile>-collect.tar.xz)")
    p.add_argument("--note", default="", help="a line kept in the archive, e.g. the published report's date")
    c = sub.add_parser("check", help="check an archive's checksum and list what it holds")
    c.add_argument("archive", type=Path)
    u = sub.add_parser("unpack", help="check an archive and unpack it into a collect folder")
    u.add_argument("archive", type=Path)
    u.add_argument("collect_dir", type=Path, help="e.g. runs/workshop/collect")
    args = parser.parse_args(argv)
    try:
        if args.command == "pack":
            out = pack(args.run, args.out, args.note)
            print(f"{out} ({out.stat().st_size / 1e6:.1f} MB)\n{checksum_path(out)}")
        elif args.command == "check":
            digest = verify_checksum(args.archive)
            manifest = read_manifest(args.archive)
            print(f"OK {digest}")
            for name, entry in sorted(manifest["files"].items()):
                print(f"  {entry['bytes']:>12,}  {name}")
        else:
            meta = unpack(args.archive, args.collect_dir)
            print(f"unpacked {len(meta['files'])} files into {args.collect_dir}")
    except FrozenError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
