import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";

// The rules of ../shared/STYLE.md that hold the rooms apart, read from the source itself, so a
// change that breaks one fails here instead of in a review.

const sourceRoot = resolve(import.meta.dirname, "../src");

function sourceFiles(directory: string): string[] {
  return readdirSync(directory).flatMap((name) => {
    const path = join(directory, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return name.endsWith(".ts") && !name.endsWith(".test.ts") ? [path] : [];
  });
}

type SourceFile = { path: string; room: string; text: string; imports: string[] };

/** `ledger` for src/ledger/holds.ts; a file at the top of src/ is a room of its own (`config`). */
function roomOf(path: string): string {
  const [first = "", ...rest] = relative(sourceRoot, path).split("/");
  return rest.length > 0 ? first : first.replace(/\.ts$/, "");
}

const files: SourceFile[] = sourceFiles(sourceRoot).map((path) => {
  const text = readFileSync(path, "utf8");
  // The compiler's own reading of imports, exports and dynamic imports, type-only ones included.
  const imports = ts.preProcessFile(text, true, true).importedFiles.map((file) => file.fileName);
  return { path, room: roomOf(path), text, imports };
});

function localTarget(file: SourceFile, specifier: string): string | null {
  if (!specifier.startsWith(".")) return null;
  return resolve(dirname(file.path), specifier.replace(/\.js$/, ".ts"));
}

function packageName(specifier: string): string {
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : (parts[0] ?? specifier);
}

/** Files outside `allowedRooms` that import one of `packages`, as "file → package". */
function importersOutside(packages: (name: string) => boolean, allowedRooms: string[]): string[] {
  return files.flatMap((file) =>
    allowedRooms.includes(file.room)
      ? []
      : file.imports
          .filter((specifier) => !specifier.startsWith(".") && packages(packageName(specifier)))
          .map((specifier) => `${relative(sourceRoot, file.path)} → ${specifier}`),
  );
}

/** Files outside `allowedRooms` whose text names one of `tables`, as "file: table". */
function namersOutside(tables: string[], allowedRooms: string[]): string[] {
  return files.flatMap((file) => {
    if (allowedRooms.includes(file.room)) return [];
    // Comments may name a table to explain; only code counts.
    const code = file.text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/\/\/.*$/gm, "");
    return tables
      .filter((table) => new RegExp(`\\b${table.replace(".", "\\.")}\\b`).test(code))
      .map((table) => `${relative(sourceRoot, file.path)}: ${table}`);
  });
}

/** Every import from one room into another, as "from → to (file)", keyed by the pair of rooms. */
function roomEdges(): Map<string, Map<string, string>> {
  const edges = new Map<string, Map<string, string>>();
  for (const file of files) {
    for (const specifier of file.imports) {
      const target = localTarget(file, specifier);
      if (!target?.startsWith(sourceRoot)) continue;
      const room = roomOf(target);
      if (room === file.room) continue;
      const from = edges.get(file.room) ?? new Map<string, string>();
      if (!from.has(room)) from.set(room, relative(sourceRoot, file.path));
      edges.set(file.room, from);
    }
  }
  return edges;
}

/**
 * The imports that tie rooms into a cycle: each edge between two rooms that can reach each other,
 * with one file that makes it, so the message says where to cut.
 */
function cyclicImports(): string[] {
  const edges = roomEdges();
  const reaches = (from: string, to: string) => {
    const seen = new Set<string>();
    const stack = [from];
    while (stack.length > 0) {
      const room = stack.pop() as string;
      if (room === to) return true;
      if (seen.has(room)) continue;
      seen.add(room);
      stack.push(...(edges.get(room)?.keys() ?? []));
    }
    return false;
  };
  return [...edges].flatMap(([from, targets]) =>
    [...targets].filter(([to]) => reaches(to, from)).map(([to, file]) => `${from} → ${to} (${file})`),
  );
}

describe("the rooms of src/", () => {
  it("reads every source file (the rules below are not passing on nothing)", () => {
    const rooms = new Set(files.map((file) => file.room));
    for (const room of ["ledger", "billing", "ai", "auth", "admin", "http", "db", "cli", "kit"]) {
      expect(rooms).toContain(room);
    }
  });

  it("only billing/ imports stripe", () => {
    expect(importersOutside((name) => name === "stripe", ["billing"])).toEqual([]);
  });

  it("only mail/ imports nodemailer", () => {
    expect(importersOutside((name) => name === "nodemailer", ["mail"])).toEqual([]);
  });

  it("only ai/ imports the AI SDK", () => {
    const aiSdk = (name: string) => name === "ai" || name.startsWith("@ai-sdk/");
    expect(importersOutside(aiSdk, ["ai"])).toEqual([]);
  });

  it("only ledger/ names the credit tables; billing's payment tables only billing/", () => {
    const ledgerTables = [
      "credits.accounts",
      "credits.entries",
      "credits.holds",
      "credits.lots",
      "credits.lot_draws",
      "credits.hold_lots",
    ];
    expect(namersOutside(ledgerTables, ["ledger"])).toEqual([]);
    const paymentTables = [
      "credits.payments",
      "credits.stripe_events",
      "credits.refund_reports",
      "credits.disputes",
      "credits.auto_topup_settings",
      "credits.auto_topups",
    ];
    expect(namersOutside(paymentTables, ["billing"])).toEqual([]);
  });

  it("kit/ sits below every capability: it imports none of them", () => {
    const kitImports = files
      .filter((file) => file.room === "kit")
      .flatMap((file) => file.imports.map((specifier) => localTarget(file, specifier)))
      .filter((target): target is string => target?.startsWith(sourceRoot) === true)
      .map(roomOf)
      .filter((room) => room !== "kit");
    expect(kitImports).toEqual([]);
  });

  it("the web app bundles from src/ only modules that import nothing; types it may import freely", () => {
    const webRoot = resolve(import.meta.dirname, "../web/src");
    const webFiles = sourceFiles(webRoot).concat(
      readdirSync(webRoot, { recursive: true, encoding: "utf8" })
        .filter((name) => name.endsWith(".tsx"))
        .map((name) => join(webRoot, name)),
    );
    const bundled = webFiles.flatMap((path) => {
      const text = readFileSync(path, "utf8");
      // `import type` vanishes from the bundle; a value import brings the module and all it imports.
      return [...text.matchAll(/^import (?!type )[^;]*? from "([^"]+)";/gms)]
        .map((match) => resolve(dirname(path), (match[1] ?? "").replace(/\.js$/, ".ts")))
        .filter((target) => target.startsWith(sourceRoot));
    });
    expect(bundled.length).toBeGreaterThan(0);
    const heavy = bundled.flatMap((target) => {
      const imports = files.find((file) => file.path === target)?.imports ?? ["(not a source file)"];
      return imports.map((specifier) => `${relative(sourceRoot, target)} imports ${specifier}`);
    });
    expect(heavy).toEqual([]);
  });

  it("has no import cycle between rooms", () => {
    expect(cyclicImports()).toEqual([]);
  });
});
