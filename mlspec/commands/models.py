"""List, promote, roll back and export the registered versions of a system's bundle.

  mlspec models list [NAME] [--store DIR] [--json]
  mlspec models promote NAME VERSION [--store DIR]
  mlspec models rollback NAME [--store DIR]
  mlspec models export NAME VERSION FOLDER [--store DIR]
  mlspec models verify FOLDER [--store DIR]

A successful `mlspec run` registers its package as the next version (the same package is
the same version). `verify` checks an exported bundle's files against its MANIFEST.json and,
when the folder names its registry entry (version.json) and --store is given, that manifest
against the registry's. Exit status: 0 ok, 1 for a bundle that fails verification, 2 for an
unknown name or version, nothing to roll back or a bad export folder."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path

from mlspec.commands._common import EXIT_FAILED, fail, resolve_store


def _version(text: str) -> int:
    """VERSION on the command line: a positive integer the registry can hold (argparse: exit 2)."""
    from mlspec.registry import RegistryError, check_version

    try:
        return check_version(int(text))
    except (ValueError, RegistryError):
        raise argparse.ArgumentTypeError(
            f"VERSION must be a positive integer. Got {text!r} instead."
        ) from None


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--store",
        metavar="DIR",
        help="artifact store folder (default: the --spec's store, else ./.mlspec)",
    )
    p.add_argument("--spec", metavar="SPEC", help="use this spec's store (from any folder)")
    p.add_argument("--json", action="store_true", help="print as JSON")


def configure(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", metavar="ACTION")
    ls = sub.add_parser("list", help="list registered versions")
    ls.add_argument("name", nargs="?", metavar="NAME", help="only this system's versions")
    promote = sub.add_parser("promote", help="make a version the production one")
    promote.add_argument("name", metavar="NAME")
    promote.add_argument("version", type=_version, metavar="VERSION")
    rollback = sub.add_parser("rollback", help="return to the previous production version")
    rollback.add_argument("name", metavar="NAME")
    export = sub.add_parser(
        "export", help="copy a version's bundle into a new folder (hashes verified)"
    )
    export.add_argument("name", metavar="NAME")
    export.add_argument("version", type=_version, metavar="VERSION")
    export.add_argument("folder", metavar="FOLDER")
    verify = sub.add_parser(
        "verify", help="check a bundle folder's digests (and its registry entry with --store)"
    )
    verify.add_argument("folder", metavar="FOLDER")
    for action in (ls, promote, rollback, export):
        _common(action)
    verify.add_argument(
        "--store", metavar="DIR", help="the store whose registry the bundle must match"
    )
    verify.add_argument("--json", action="store_true", help="print as JSON")


def _list(args: argparse.Namespace) -> int:
    from mlspec.registry import ModelRegistry, RegistryError, did_you_mean

    registry = ModelRegistry(args.store)
    if args.name is not None and args.name not in (names := registry.names()):
        raise RegistryError(
            f"no registered model named '{args.name}'", did_you_mean(args.name, names)
        )
    rows = registry.list(args.name)
    if args.json:
        print(json.dumps([v.to_json() for v in rows], indent=2))
        return 0
    if not rows:
        print(f"no models registered in {args.store}; a successful `mlspec run` registers one")
        return 0
    print(f"{'NAME':<20} {'VERSION':>7}  {'STATUS':<10} {'CREATED':<25} {'RUN':<14} PACKAGE")
    for v in rows:
        print(
            f"{v.name:<20} {v.version:>7}  {v.status:<10} {v.created:<25} {(v.run_id or '-'):<14} {v.fingerprint[:12]}"
        )
    return 0


def _promote(args: argparse.Namespace) -> int:
    from mlspec.registry import ModelRegistry

    v = ModelRegistry(args.store).promote(args.name, args.version)
    return _done(args, v.to_json(), f"{v.name} version {v.version} is in production")


def _rollback(args: argparse.Namespace) -> int:
    from mlspec.registry import ModelRegistry

    v = ModelRegistry(args.store).rollback(args.name)
    return _done(args, v.to_json(), f"rolled back: {v.name} version {v.version} is in production")


def _export(args: argparse.Namespace) -> int:
    from mlspec.registry import ModelRegistry

    folder = ModelRegistry(args.store).export(args.name, args.version, args.folder)
    return _done(
        args,
        {"name": args.name, "version": args.version, "folder": str(folder)},
        f"exported {args.name} version {args.version} to {folder}",
    )


def _verify(args: argparse.Namespace) -> int:
    from mlspec.scoring.bundle import BundleError, verify
    from mlspec.scoring.locate import locate

    try:
        found = locate(args.folder, args.store)
        if found.folder.resolve() != Path(args.folder).resolve():
            raise BundleError(f"{args.folder} is not a bundle folder")
        checked = verify(found.folder, found.expected_sha)
    except BundleError as exc:
        return fail(exc.message, exc.hint, code=EXIT_FAILED)
    against = (
        f"registered as {found.name} version {found.version}"
        if found.expected_sha
        else "its own manifest (no registry checked: give --store)"
    )
    return _done(
        args,
        {
            "folder": args.folder,
            "files": len(checked["files"]),
            "manifest_sha256": checked["sha256"],
            "registry": None
            if not found.expected_sha
            else {"name": found.name, "version": found.version},
        },
        f"ok: {len(checked['files'])} files match; checked against {against}",
    )


def _done(args: argparse.Namespace, value: dict[str, object], text: str) -> int:
    print(json.dumps(value, indent=2) if args.json else text)
    return 0


ACTIONS: dict[str, Callable[[argparse.Namespace], int]] = {
    "list": _list,
    "promote": _promote,
    "rollback": _rollback,
    "export": _export,
    "verify": _verify,
}


def run(args: argparse.Namespace) -> int:
    from mlspec.registry import RegistryError

    action = getattr(args, "action", None)
    if action is None:
        return fail(
            "usage: mlspec models {list,promote,rollback,export,verify} ...",
            "see `mlspec models --help`",
        )
    args.store = resolve_store(args.store, getattr(args, "spec", None))
    try:
        return ACTIONS[action](args)
    except RegistryError as exc:
        return fail(exc.message, exc.hint, exc.code)
