/**
 * koffi's addon is loaded straight from its linux-x64 platform package where there is one (koffi's
 * own loader probes node's ELF interpreter and every platform package: slow in a TCG guest), and
 * through koffi's loader anywhere else; either way the module is koffi's.
 */
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import { directKoffiAddon, koffi } from "../../../native/libc.js";

const req = createRequire(import.meta.url);

describe("loading koffi", () => {
  it("finds the glibc x86-64 addon of the installed platform package", () => {
    expect(directKoffiAddon(req, "linux", "x64")).toMatch(
      /\/@koromix\/koffi-linux-x64\/linux_x64\/koffi\.node$/,
    );
  });

  it("leaves other platforms to koffi's own loader", () => {
    expect(directKoffiAddon(req, "linux", "arm64")).toBeUndefined();
    expect(directKoffiAddon(req, "darwin", "x64")).toBeUndefined();
  });

  it("loads the addon of the version koffi's own loader picks, with the API the bindings use", () => {
    const k = koffi();
    expect(k.version).toBe((req("koffi") as { version: string }).version);
    for (const fn of ["load", "errno", "struct", "pointer", "decode"] as const)
      expect(typeof k[fn]).toBe("function");
  });
});
