#!/usr/bin/env node
// Validates every Teams snapshot of stripe-chat with Microsoft's own Adaptive Cards library (npm
// `adaptivecards`) and with the rules of a Teams Workflows webhook.
//
// Run with `tests/validators/adaptivecards/run.sh` (installs the pinned library, then runs this
// script from the repository root), or `node tests/validators/adaptivecards/validate.js
// [--self-test] [--verbose] [FILE.snap ...]` once `npm ci` has run here.
//
// Snapshots read: `tests/snapshots/render__teams__*.snap` and every `snapshots/*.snap` under
// `crates/stripe-chat-teams/`. Each is an insta file: a YAML header between `---` lines, then the
// webhook body as JSON. The card is the body's `attachments[0].content`.
//
// A card fails on any of:
// - a parse event of the library (`SerializationContext` events): unknown element or action type,
//   invalid property value, invalid version string, a property or element newer than the card's
//   declared version (the card is parsed with the declared version as target, capped at 1.5);
// - an error-level event of `card.validateProperties()`; only `Hint`, `Deprecated`,
//   `RequiredInputsShouldHaveLabel` and `RequiredInputsShouldHaveErrorMessage` are warnings (they
//   are advice in the library's source: layout hints and accessibility of inputs), every other
//   event (missing card type or version, unsupported version, property that must be set, duplicate
//   id, too many actions, unknown or forbidden types, ...) is an error, and so is any event type
//   this script does not know;
// - a property the library does not know on an element, action, column, fact or card (the library
//   ignores them silently; a typo such as `weigth` is a renderer bug), except Teams' own `msteams`
//   on the card;
// - Teams' rules: body `{"type": "message", "attachments": [one Adaptive Card]}`, card `version`
//   at most 1.5, only `Action.OpenUrl`, `Action.ShowCard` and `Action.ToggleVisibility` anywhere
//   (clicks on `Action.Submit`/`Action.Execute` go to a bot, a webhook has none), every
//   `Action.OpenUrl` opening an `https://` or `http://` URL, and the body serialized within 28,000
//   bytes (Teams' "28 KB", counted as the adapter counts it).
//
// Prints one line per failing card, then `N passed, M failed`; exits 1 when a card fails or no
// snapshot is found. `--self-test` runs deliberately broken cards instead, each of which must fail
// for its reason, plus a good one that must pass.
"use strict";

const fs = require("fs");
const path = require("path");

// The package's browser bundle: it loads in Node without a DOM (nothing touches `document` until a
// card is rendered, and this script never renders), so no jsdom or `document` shim is needed. The
// package declares `swiper` (its carousel) as a peer dependency, which npm installs and the lock
// pins, but this bundle carries its own copy and never requires it.
const AC = require("adaptivecards/dist/adaptivecards.js");

const REPO = path.resolve(__dirname, "..", "..", "..");
const MAX_BODY_BYTES = 28000;
const MAX_VERSION = [1, 5];
const ALLOWED_ACTIONS = new Set(["Action.OpenUrl", "Action.ShowCard", "Action.ToggleVisibility"]);
const ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive";

const E = AC.ValidationEvent;
const WARNING_EVENTS = new Set([
  E.Hint,
  E.Deprecated,
  E.RequiredInputsShouldHaveLabel,
  E.RequiredInputsShouldHaveErrorMessage,
]);
const eventName = (event) => E[event] || `event ${event}`;

// ---------------------------------------------------------------------------------------------
// Snapshots

function findSnapshots() {
  const files = [];
  const top = path.join(REPO, "tests", "snapshots");
  if (fs.existsSync(top)) {
    for (const name of fs.readdirSync(top).sort()) {
      if (name.startsWith("render__teams__") && name.endsWith(".snap")) {
        files.push(path.join(top, name));
      }
    }
  }
  const walk = (dir) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
      a.name.localeCompare(b.name),
    )) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== "node_modules" && entry.name !== "target") walk(full);
      } else if (entry.name.endsWith(".snap") && path.basename(dir) === "snapshots") {
        files.push(full);
      }
    }
  };
  const crate = path.join(REPO, "crates", "stripe-chat-teams");
  if (fs.existsSync(crate)) walk(crate);
  return files;
}

/// The JSON body of an insta snapshot: whatever follows the header's closing `---` line.
function readSnapshot(file) {
  const lines = fs.readFileSync(file, "utf8").split(/\r?\n/);
  if (lines[0] !== "---") throw new Error("not an insta snapshot (no `---` header)");
  const end = lines.indexOf("---", 1);
  if (end < 0) throw new Error("not an insta snapshot (header not closed)");
  return JSON.parse(lines.slice(end + 1).join("\n"));
}

// ---------------------------------------------------------------------------------------------
// Validation

function parseVersion(v) {
  const m = typeof v === "string" ? /^(\d+)\.(\d+)$/.exec(v) : null;
  return m ? [Number(m[1]), Number(m[2])] : null;
}

const versionAtMost = (a, b) => a[0] < b[0] || (a[0] === b[0] && a[1] <= b[1]);

/// Property names the library's schema knows for `instance`, plus the structural keys it parses by
/// hand (`items`, `actions`, ...).
function schemaKeys(instance, structural) {
  const keys = new Set(["fallback", ...structural]);
  const schema = instance.getSchema();
  for (let i = 0; i < schema.getCount(); i++) keys.add(schema.getItemAt(i).name);
  return keys;
}

const ELEMENT_CHILDREN = {
  Container: { items: "element" },
  ColumnSet: { columns: "Column" },
  ActionSet: { actions: "action" },
  FactSet: { facts: "Fact" },
  ImageSet: { images: "element" },
  RichTextBlock: { inlines: "element" },
  Table: { rows: "TableRow" },
  Carousel: { pages: "element" },
};
const OTHER_TYPES = {
  AdaptiveCard: { make: () => new AC.AdaptiveCard(), children: { body: "element", actions: "action" } },
  Column: { make: () => new AC.Column(), children: { items: "element" } },
  TableRow: { make: () => new AC.TableRow(), children: { cells: "TableCell" } },
  TableCell: { make: () => new AC.TableCell(), children: { items: "element" } },
  Fact: { make: () => new AC.Fact(), children: {} },
};

/// Walks the card's JSON and reports properties the library does not know (it drops them without
/// an event), for the kinds of object whose schema it exposes.
function unknownProperties(card, problems) {
  const visit = (node, kind, where) => {
    if (!node || typeof node !== "object" || Array.isArray(node)) return;
    let instance;
    let children = {};
    if (kind === "element" || kind === "action") {
      const registry = kind === "element" ? AC.GlobalRegistry.elements : AC.GlobalRegistry.actions;
      instance = typeof node.type === "string" ? registry.createInstance(node.type, AC.Versions.latest) : undefined;
      if (!instance) return; // an unknown type is already a parse event
      children = ELEMENT_CHILDREN[node.type] || {};
      if (node.type === "Action.ShowCard") children = { card: "AdaptiveCard" };
    } else {
      instance = OTHER_TYPES[kind].make();
      children = OTHER_TYPES[kind].children;
    }
    const label = typeof node.type === "string" ? node.type : kind;
    const known = schemaKeys(instance, Object.keys(children));
    for (const key of Object.keys(node)) {
      if (key === "msteams" && where === "card") continue; // Teams' own extension (width, entities)
      if (!known.has(key)) problems.push(`unknown property \`${key}\` on ${label} at ${where}`);
    }
    for (const [key, childKind] of Object.entries(children)) {
      const value = node[key];
      if (Array.isArray(value)) value.forEach((child, i) => visit(child, childKind, `${where}.${key}[${i}]`));
      else visit(value, childKind, `${where}.${key}`);
    }
    if (node.selectAction) visit(node.selectAction, "action", `${where}.selectAction`);
    if (node.fallback && typeof node.fallback === "object") visit(node.fallback, kind, `${where}.fallback`);
  };
  visit(card, "AdaptiveCard", "card");
}

/// Every object in the card whose `type` names an action (actions, select actions, fallbacks, show
/// cards): only those a webhook card may use, and link buttons open web URLs.
function teamsActions(node, where, problems) {
  if (Array.isArray(node)) {
    node.forEach((child, i) => teamsActions(child, `${where}[${i}]`, problems));
    return;
  }
  if (!node || typeof node !== "object") return;
  if (typeof node.type === "string" && node.type.startsWith("Action.")) {
    if (!ALLOWED_ACTIONS.has(node.type)) {
      problems.push(`${node.type} at ${where}: a webhook card can only use ${[...ALLOWED_ACTIONS].join(", ")}`);
    }
    if (node.type === "Action.OpenUrl" && !/^https?:\/\/[^/\s]/i.test(node.url || "")) {
      problems.push(`Action.OpenUrl at ${where} does not open an http(s) URL`);
    }
  }
  for (const [key, value] of Object.entries(node)) teamsActions(value, `${where}.${key}`, problems);
}

/// Errors and warnings for one webhook body.
function validateBody(body) {
  const errors = [];
  const warnings = [];

  if (!body || typeof body !== "object" || Array.isArray(body)) {
    return { errors: ["the body is not a JSON object"], warnings };
  }
  const size = Buffer.byteLength(JSON.stringify(body), "utf8");
  if (size > MAX_BODY_BYTES) errors.push(`the body is ${size} bytes, over Teams' ${MAX_BODY_BYTES}`);
  if (body.type !== "message") errors.push('the body\'s `type` is not "message"');
  const attachments = Array.isArray(body.attachments) ? body.attachments : [];
  if (attachments.length !== 1) {
    errors.push(`the body has ${attachments.length} attachments, not one Adaptive Card`);
  }
  const attachment = attachments[0] || {};
  if (attachment.contentType !== ADAPTIVE_CARD) errors.push(`attachment 0 is not ${ADAPTIVE_CARD}`);
  const content = attachment.content;
  if (!content || typeof content !== "object" || Array.isArray(content)) {
    errors.push("attachment 0 has no card `content`");
    return { errors, warnings };
  }

  // Teams renders Adaptive Cards up to 1.5.
  const declared = parseVersion(content.version);
  if (!declared) errors.push(`card version ${JSON.stringify(content.version)} is not a version`);
  else if (!versionAtMost(declared, MAX_VERSION)) {
    errors.push(`card version ${content.version} is newer than Teams renders (${MAX_VERSION.join(".")})`);
  }
  const target =
    declared && versionAtMost(declared, MAX_VERSION)
      ? new AC.Version(declared[0], declared[1])
      : new AC.Version(MAX_VERSION[0], MAX_VERSION[1]);

  // The library: parse events, then validation events.
  const context = new AC.SerializationContext(target);
  const card = new AC.AdaptiveCard();
  try {
    card.parse(content, context);
  } catch (error) {
    errors.push(`the library could not parse the card: ${error && error.message}`);
    return { errors, warnings };
  }
  for (let i = 0; i < context.eventCount; i++) {
    const e = context.getEventAt(i);
    const text = `parse: ${eventName(e.event)}: ${e.message}`;
    (WARNING_EVENTS.has(e.event) ? warnings : errors).push(text);
  }
  for (const e of card.validateProperties().validationEvents) {
    const text = `validation: ${eventName(e.event)}: ${e.message}`;
    (WARNING_EVENTS.has(e.event) ? warnings : errors).push(text);
  }

  unknownProperties(content, errors);
  teamsActions(content, "card", errors);
  return { errors, warnings };
}

// ---------------------------------------------------------------------------------------------
// Self-test: broken cards the validator must refuse, and a good one it must accept.

function selfTestCases() {
  const wrap = (card) => ({
    type: "message",
    attachments: [{ contentType: ADAPTIVE_CARD, contentUrl: null, content: card }],
  });
  const good = () => ({
    $schema: "http://adaptivecards.io/schemas/adaptive-card.json",
    type: "AdaptiveCard",
    version: "1.4",
    msteams: { width: "Full" },
    body: [
      {
        type: "Container",
        style: "warning",
        bleed: true,
        items: [{ type: "TextBlock", text: "Payment failed", size: "Large", weight: "Bolder", wrap: true }],
      },
      { type: "FactSet", facts: [{ title: "Amount", value: "20.00 USD" }] },
    ],
    actions: [{ type: "Action.OpenUrl", title: "Open", url: "https://dashboard.stripe.com/invoices/in_1" }],
  });
  const broken = (reason, expect, edit) => {
    const card = good();
    const body = wrap(card);
    edit(card, body);
    return { name: reason, body, expect };
  };
  return [
    { name: "a good card passes", body: wrap(good()), expect: null },
    broken("unknown element type", /UnknownElementType/, (c) => c.body.push({ type: "Foo", text: "x" })),
    broken("unknown action type", /UnknownActionType/, (c) => c.actions.push({ type: "Action.Foo", title: "x" })),
    broken("invalid property value", /InvalidPropertyValue.*Huge/, (c) => {
      c.body[0].items[0].size = "Huge";
    }),
    broken("invalid container style", /InvalidPropertyValue.*loud/, (c) => {
      c.body[0].style = "loud";
    }),
    broken("unknown property (typo)", /unknown property `weigth`/, (c) => {
      c.body[0].items[0].weigth = "Bolder";
    }),
    broken("element newer than the declared version", /UnknownElementType.*Table/, (c) => {
      c.body.push({ type: "Table", columns: [], rows: [] });
    }),
    broken("property newer than the declared version", /UnsupportedProperty/, (c) => {
      c.body[0].items[0].style = "heading"; // TextBlock.style is 1.5
    }),
    broken("version too high for Teams", /newer than Teams renders/, (c) => {
      c.version = "1.6";
    }),
    broken("version that is not a version", /is not a version/, (c) => {
      c.version = "one.four";
    }),
    broken("missing version", /PropertyCantBeNull.*version|is not a version/, (c) => {
      delete c.version;
    }),
    broken("Action.OpenUrl without a url", /PropertyCantBeNull.*url/, (c) => {
      delete c.actions[0].url;
    }),
    broken("Action.OpenUrl to javascript:", /does not open an http\(s\) URL/, (c) => {
      c.actions[0].url = "javascript:alert(1)";
    }),
    broken("Action.Submit (bot only)", /Action.Submit at card.actions\[1\]/, (c) => {
      c.actions.push({ type: "Action.Submit", title: "Retry", data: { x: 1 } });
    }),
    broken("Action.Execute nested in an ActionSet", /Action.Execute at card.body/, (c) => {
      c.body.push({ type: "ActionSet", actions: [{ type: "Action.Execute", title: "Go", verb: "go" }] });
    }),
    broken("duplicate ids", /DuplicateId/, (c) => {
      c.body[0].id = "x";
      c.body[1].id = "x";
    }),
    broken("body over 28 KB", /bytes, over Teams' 28000/, (c) => {
      c.body.push({ type: "TextBlock", text: "x".repeat(MAX_BODY_BYTES), wrap: true });
    }),
    broken("not a message", /`type` is not "message"/, (_c, b) => {
      b.type = "notification";
    }),
    broken("not an Adaptive Card attachment", /is not application\/vnd.microsoft.card.adaptive/, (_c, b) => {
      b.attachments[0].contentType = "application/vnd.microsoft.card.hero";
    }),
    broken("card type missing", /MissingCardType/, (c) => {
      c.type = "HeroCard";
    }),
  ];
}

function selfTest() {
  let passed = 0;
  let failed = 0;
  for (const { name, body, expect } of selfTestCases()) {
    const { errors } = validateBody(body);
    let ok;
    if (expect === null) ok = errors.length === 0;
    else ok = errors.some((e) => expect.test(e));
    if (ok) {
      passed++;
    } else {
      failed++;
      const wanted = expect === null ? "no error" : `an error matching ${expect}`;
      console.log(`FAIL self-test "${name}": expected ${wanted}, got ${JSON.stringify(errors)}`);
    }
  }
  console.log(`self-test: ${passed} passed, ${failed} failed`);
  return failed === 0;
}

// ---------------------------------------------------------------------------------------------

function main(argv) {
  const verbose = argv.includes("--verbose");
  if (argv.includes("--self-test")) return selfTest() ? 0 : 1;
  const given = argv.filter((a) => !a.startsWith("--"));
  const files = given.length > 0 ? given.map((f) => path.resolve(f)) : findSnapshots();
  if (files.length === 0) {
    console.log("no Teams snapshot found");
    console.log("0 passed, 0 failed");
    return 1;
  }
  let passed = 0;
  let failed = 0;
  let warned = 0;
  for (const file of files) {
    const name = path.relative(REPO, file);
    let result;
    try {
      result = validateBody(readSnapshot(file));
    } catch (error) {
      result = { errors: [`cannot read: ${error.message}`], warnings: [] };
    }
    if (result.warnings.length > 0) {
      warned++;
      if (verbose) for (const w of result.warnings) console.log(`warning ${name}: ${w}`);
    }
    if (result.errors.length === 0) {
      passed++;
      if (verbose) console.log(`ok ${name}`);
    } else {
      failed++;
      for (const e of result.errors) console.log(`FAIL ${name}: ${e}`);
    }
  }
  if (warned > 0) console.log(`${warned} card(s) with warnings (run with --verbose to see them)`);
  console.log(`${passed} passed, ${failed} failed`);
  return failed === 0 ? 0 : 1;
}

process.exitCode = main(process.argv.slice(2));
