/** One verdict of `tskata check`. `fail` means something required is missing (exit status 1). */
export type CheckStatus = "ok" | "warn" | "fail";

export interface CheckResult {
  /** Short stable name, e.g. `qemu`, `kvm`. */
  name: string;
  status: CheckStatus;
  /** What was found. */
  detail: string;
  /** What to install or change; empty when nothing is needed. */
  remedy: string;
}

export const ok = (name: string, detail: string): CheckResult => ({ name, status: "ok", detail, remedy: "" });
export const warn = (name: string, detail: string, remedy: string): CheckResult => ({
  name,
  status: "warn",
  detail,
  remedy,
});
export const fail = (name: string, detail: string, remedy: string): CheckResult => ({
  name,
  status: "fail",
  detail,
  remedy,
});
