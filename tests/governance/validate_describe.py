#!/usr/bin/env python3
"""Validates a governance record (udev-device-plugin describe, GET /describe) against
docs/describe.schema.json.

  validate_describe.py --schema SCHEMA FILE      # a saved record ("-" for stdin)
  validate_describe.py --schema SCHEMA --exe BIN --config CONFIG
                                                # runs BIN describe --config CONFIG
  validate_describe.py --schema SCHEMA --exe BIN  # runs BIN, which prints a record

Exit 0 when valid, 1 with the validator's error otherwise. Every run also checks that the schema
rejects a mutated copy of the record (a required key dropped, a wrong type, an unknown key), so a
schema that accepts anything cannot pass.
"""
import argparse
import copy
import hashlib
import json
import os
import subprocess
import sys

import jsonschema


def load_record(args):
    if args.exe:
        command = [args.exe] + (["describe", "--config", args.config] if args.config else [])
        run = subprocess.run(command,
                             capture_output=True, text=True, timeout=60, check=False)
        if run.returncode != 0:
            sys.exit(f"describe exited {run.returncode}: {run.stderr.strip()}")
        text = run.stdout
    elif args.record == "-":
        text = sys.stdin.read()
    else:
        with open(args.record, encoding="utf-8") as f:
            text = f.read()
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        sys.exit(f"not JSON: {error}")


def mutations(record):
    dropped = copy.deepcopy(record)
    del dropped["plugin"]["version"]
    yield "required key plugin.version dropped", dropped
    wrong = copy.deepcopy(record)
    wrong["live"] = "yes"
    yield "live as a string", wrong
    extra = copy.deepcopy(record)
    extra["privileges"]["unexpected"] = 1
    yield "unknown key privileges.unexpected", extra


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--schema", required=True)
    parser.add_argument("--exe")
    parser.add_argument("--config")
    parser.add_argument("record", nargs="?")
    args = parser.parse_args()
    if bool(args.exe) == bool(args.record) or (args.config and not args.exe):
        parser.error("give either FILE (or -) or --exe [--config CONFIG]")

    with open(args.schema, encoding="utf-8") as f:
        schema = json.load(f)
    # The schema declares draft 2020-12; say so rather than trust its $schema.
    validator_class = jsonschema.Draft202012Validator
    validator_class.check_schema(schema)
    validator = validator_class(schema)

    record = load_record(args)
    error = jsonschema.exceptions.best_match(validator.iter_errors(record))
    if error is not None:
        path = "/".join(str(p) for p in error.absolute_path) or "(root)"
        print(f"invalid record at {path}: {error.message}", file=sys.stderr)
        return 1

    if args.config:
        # Offline: the digest is of the file's bytes and nothing claims to be live.
        with open(args.config, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        if record["config"]["sha256"] != digest:
            print(f"config.sha256 is {record['config']['sha256']}, sha256sum says {digest}",
                  file=sys.stderr)
            return 1
        if record["config"]["path"] != os.path.realpath(args.config) or record["live"]:
            print("offline record: wrong config.path or live is true", file=sys.stderr)
            return 1

    for what, mutated in mutations(record):
        if validator.is_valid(mutated):
            print(f"self-check failed: the schema accepts a record with {what}", file=sys.stderr)
            return 1

    print(f"valid ({validator_class.__name__}); {len(record['resources'])} resources, "
          f"{sum(len(r['devices']) for r in record['resources'])} devices; "
          "mutated copies rejected")
    return 0


if __name__ == "__main__":
    sys.exit(main())
