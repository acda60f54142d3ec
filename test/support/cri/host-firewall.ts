/**
 * The host's iptables state as CNI plugins change it (bridge, portmap): a snapshot taken before
 * a test network exists, the rules that name that network, and the removal of everything the
 * network added since the snapshot — its rules, the CNI-* chains created meanwhile, and the
 * (nf_tables) tables that did not exist before and are empty again.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);

const FAMILIES = [
  { save: "iptables-save", tool: "iptables", nft: "ip" },
  { save: "ip6tables-save", tool: "ip6tables", nft: "ip6" },
] as const;
type Family = (typeof FAMILIES)[number];

/** Chains and appended rules (`-A CHAIN ...`) of one table, as `*-save` prints them. */
interface Table {
  chains: Set<string>;
  rules: string[];
}

export interface FirewallSnapshot {
  /** `${family.tool}/${table}` → table. */
  tables: Map<string, Table>;
  /** `nft list tables` lines ("table ip nat"); empty when nft is not installed. */
  nftTables: Set<string>;
}

async function save(family: Family): Promise<Map<string, Table>> {
  const { stdout } = await run(family.save);
  const tables = new Map<string, Table>();
  let current: Table | undefined;
  for (const line of stdout.split("\n")) {
    if (line.startsWith("*")) {
      current = { chains: new Set(), rules: [] };
      tables.set(line.slice(1), current);
    } else if (line.startsWith(":") && current) current.chains.add(line.slice(1).split(" ")[0]!);
    else if (line.startsWith("-A ") && current) current.rules.push(line);
  }
  return tables;
}

async function nftTables(): Promise<Set<string>> {
  try {
    const { stdout } = await run("nft", ["list", "tables"]);
    return new Set(stdout.split("\n").filter((l) => l.startsWith("table ")));
  } catch {
    return new Set();
  }
}

export async function snapshotFirewall(): Promise<FirewallSnapshot> {
  const tables = new Map<string, Table>();
  for (const family of FAMILIES) {
    for (const [name, table] of await save(family)) tables.set(`${family.tool}/${name}`, table);
  }
  return { tables, nftTables: await nftTables() };
}

/** Rules (as `TOOL -t TABLE: -A ...`) containing any of `marks` (bridge name, subnet prefix, network name). */
export async function firewallRulesMentioning(marks: string[]): Promise<string[]> {
  const found: string[] = [];
  for (const [key, table] of (await snapshotFirewall()).tables) {
    for (const rule of table.rules) if (marks.some((m) => rule.includes(m))) found.push(`${key}: ${rule}`);
  }
  return found;
}

/**
 * Removes rules naming `marks` or jumping to a CNI-* chain created since `before`, then those
 * chains, then nf_tables tables created since `before` that hold no rules any more.
 */
export async function removeFirewallLeftovers(before: FirewallSnapshot, marks: string[]): Promise<void> {
  const now = await snapshotFirewall();
  for (const family of FAMILIES) {
    for (const [key, table] of now.tables) {
      if (!key.startsWith(`${family.tool}/`)) continue;
      const name = key.slice(family.tool.length + 1);
      const old = before.tables.get(key);
      const added = [...table.chains].filter((c) => c.startsWith("CNI-") && !old?.chains.has(c));
      const jumpsToAdded = (rule: string) =>
        added.some((c) => rule.includes(`-j ${c}`) || rule.includes(`-g ${c}`));
      for (const rule of table.rules) {
        const chain = rule.split(" ")[1]!;
        if (added.includes(chain)) continue; // goes with its chain
        if (marks.some((m) => rule.includes(m)) || jumpsToAdded(rule)) {
          // The saved rule is shell-quoted (comments): let sh split it.
          await run("sh", ["-c", `${family.tool} -t ${name} -D ${rule.slice(3)}`]);
        }
      }
      for (const chain of added) await run(family.tool, ["-t", name, "-F", chain]);
      for (const chain of added) await run(family.tool, ["-t", name, "-X", chain]);
    }
  }
  const after = await snapshotFirewall();
  for (const line of after.nftTables) {
    if (before.nftTables.has(line)) continue;
    const [, nftFamily, name] = line.split(" ");
    const family = FAMILIES.find((f) => f.nft === nftFamily);
    const table = family && name ? after.tables.get(`${family.tool}/${name}`) : undefined;
    const builtinOnly =
      table &&
      table.rules.length === 0 &&
      [...table.chains].every((c) => /^[A-Z]+$/.test(c) && !c.includes("-"));
    if (builtinOnly) await run("nft", ["delete", "table", nftFamily!, name!]);
  }
}
