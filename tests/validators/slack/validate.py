"""Validates every Slack snapshot in the repository with Slack's own Python SDK (`slack_sdk`).

Run from the repository root (`tests/validators/slack/run.sh` sets up `slack_sdk` and does so):

    python3 tests/validators/slack/validate.py [SNAPSHOT ...]

Without arguments it checks `tests/snapshots/render__slack__*.snap` and
`crates/stripe-chat-slack/**/snapshots/*.snap`. Each snapshot is an insta file: a YAML header
between `---` lines, then the `chat.postMessage` body as JSON. For each body:

- `Block.parse` builds every block with `slack_sdk`'s models; a block it does not know (dropped
  with a warning) fails the snapshot;
- `validate_json()` on every block, and `to_dict()` (which validates every nested element, text
  object and confirmation dialog), run the SDK's checks of Block Kit limits; a
  `SlackObjectFormationError` fails the snapshot;
- a key the SDK ignored while parsing (logged by `slack_sdk`) fails the snapshot, and the
  round trip `to_dict()` must give back the same blocks, so nothing was silently dropped;
- the message itself: a non-empty `text` fallback and at most 50 blocks.

The last line printed is `N passed, M failed`; the exit status is 1 when anything failed.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block

MAX_BLOCKS = 50
ROOT_PATTERN = "tests/snapshots/render__slack__*.snap"
CRATE_DIR = "crates/stripe-chat-slack"


class Collect(logging.Handler):
    """Keeps every message `slack_sdk`'s models log while one body is parsed."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def snapshot_paths(root: Path) -> list[Path]:
    paths = sorted(root.glob(ROOT_PATTERN))
    paths += sorted(
        p for p in (root / CRATE_DIR).rglob("*.snap") if p.parent.name == "snapshots"
    )
    return paths


def snapshot_body(path: Path) -> object:
    """The JSON after an insta snapshot's YAML header."""
    lines = path.read_text(encoding="utf-8").splitlines()
    if not lines or lines[0].strip() != "---":
        raise ValueError("no insta header (expected a first line `---`)")
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].strip() == "---")
    except StopIteration:
        raise ValueError("insta header is not closed by `---`") from None
    return json.loads("\n".join(lines[end + 1 :]))


def differences(expected: object, actual: object, where: str) -> list[str]:
    """Where `actual` (the SDK's `to_dict()`) differs from `expected` (the snapshot)."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        out = []
        for key in sorted(set(expected) | set(actual)):
            if key not in actual:
                out.append(f"{where}.{key}: dropped by slack_sdk")
            elif key not in expected:
                out.append(f"{where}.{key}: added by slack_sdk ({actual[key]!r})")
            else:
                out += differences(expected[key], actual[key], f"{where}.{key}")
        return out
    if isinstance(expected, list) and isinstance(actual, list):
        if len(expected) != len(actual):
            return [f"{where}: {len(expected)} items, slack_sdk kept {len(actual)}"]
        out = []
        for i, (e, a) in enumerate(zip(expected, actual)):
            out += differences(e, a, f"{where}[{i}]")
        return out
    if expected != actual:
        return [f"{where}: {expected!r} became {actual!r}"]
    return []


def check_body(body: object) -> list[str]:
    """Every problem `slack_sdk` (and the message-level limits) find in one body."""
    if not isinstance(body, dict):
        return ["body: not a JSON object"]
    problems = []
    text = body.get("text")
    if not isinstance(text, str) or not text.strip():
        problems.append("text: the notification fallback is missing or empty")
    blocks = body.get("blocks")
    if not isinstance(blocks, list) or not blocks:
        return problems + ["blocks: missing, empty or not an array"]
    if len(blocks) > MAX_BLOCKS:
        problems.append(f"blocks: {len(blocks)} blocks, more than {MAX_BLOCKS}")

    collect = Collect()
    sdk_logger = logging.getLogger("slack_sdk.models")
    sdk_logger.addHandler(collect)
    sdk_logger.setLevel(logging.DEBUG)
    sdk_logger.propagate = False
    try:
        for i, raw in enumerate(blocks):
            where = f"blocks[{i}]"
            if not isinstance(raw, dict):
                problems.append(f"{where}: not a JSON object")
                continue
            collect.messages.clear()
            try:
                block = Block.parse(raw)
            except (TypeError, ValueError, KeyError, SlackObjectFormationError) as e:
                problems.append(f"{where}: slack_sdk cannot parse it: {e}")
                continue
            if block is None:
                problems.append(f"{where}: unknown block type {raw.get('type')!r}, dropped")
                continue
            if block.type != raw.get("type"):
                problems.append(f"{where}: parsed as {block.type!r}, not {raw.get('type')!r}")
            try:
                block.validate_json()
                as_dict = block.to_dict()
            except SlackObjectFormationError as e:
                problems.append(f"{where}: {type(block).__name__}: {e}")
                continue
            for message in collect.messages:
                # "!!! ButtonElement's constructor args (zzz) were ignored.If they should be ..."
                message = message.removeprefix("!!! ").split("were ignored.")[0]
                problems.append(f"{where}: slack_sdk ignored: {message.strip()}")
            problems += differences(raw, as_dict, where)
    finally:
        sdk_logger.removeHandler(collect)
    return problems


def main(argv: list[str]) -> int:
    root = Path.cwd()
    paths = [Path(a) for a in argv] if argv else snapshot_paths(root)
    if not paths:
        print(f"no Slack snapshots found under {root}")
        print("0 passed, 1 failed")
        return 1
    passed = failed = 0
    for path in paths:
        name = path.relative_to(root) if path.is_relative_to(root) else path
        try:
            problems = check_body(snapshot_body(path))
        except (OSError, ValueError) as e:
            problems = [f"cannot read the snapshot: {e}"]
        if problems:
            failed += 1
            print(f"FAIL {name}")
            for problem in problems:
                print(f"    {problem}")
        else:
            passed += 1
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
