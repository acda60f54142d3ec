// Makes the compiled entry points declared in package.json "bin" executable.
import { chmodSync, existsSync, readFileSync } from "node:fs";

const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
for (const [name, path] of Object.entries(pkg.bin ?? {})) {
  const file = new URL(`../${path}`, import.meta.url);
  if (!existsSync(file)) {
    console.error(`mark-executable: bin ${name} -> ${path} was not built`);
    process.exit(1);
  }
  chmodSync(file, 0o755);
}
