/**
 * What containerd puts in a task's stdin/stdout/stderr fields, parsed once: an empty string (the
 * stream is unused), a plain path (a FIFO, or a file to append to), `file:///abs/path` (append
 * stdout and stderr to it) or `binary:///abs/path?k=v` (a logging binary).
 */

export type StdioTarget =
  | { kind: "none" }
  | { kind: "path"; path: string }
  | { kind: "file"; path: string }
  | { kind: "binary"; path: string; args: string[] };

export class StdioUriError extends Error {
  override readonly name = "StdioUriError";
  readonly code = "STDIO_URI_INVALID";
}

export function parseStdioUri(value: string, stream: "stdin" | "stdout" | "stderr"): StdioTarget {
  if (value === "") return { kind: "none" };
  if (!value.includes("://")) {
    if (!value.startsWith("/"))
      throw new StdioUriError(`${stream}: path ${JSON.stringify(value)} is not absolute`);
    return { kind: "path", path: value };
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new StdioUriError(`${stream}: cannot parse ${JSON.stringify(value)} as a URI`);
  }
  const scheme = url.protocol.replace(/:$/, "");
  if (scheme !== "file" && scheme !== "binary") {
    throw new StdioUriError(
      `${stream}: unknown STDIO scheme ${scheme} (want a FIFO path, file:// or binary://)`,
    );
  }
  if (stream === "stdin") throw new StdioUriError(`stdin: ${scheme}:// is for output streams only`);
  const path = decodeURIComponent(url.pathname);
  if (url.host !== "" || !path.startsWith("/") || path === "/") {
    throw new StdioUriError(`${stream}: ${scheme}:// needs an absolute path, got ${JSON.stringify(value)}`);
  }
  if (scheme === "file") return { kind: "file", path };
  // containerd's convention: each query pair becomes "-k v" (or "-k" when v is empty).
  const args: string[] = [];
  for (const [k, v] of url.searchParams) args.push(`-${k}`, ...(v === "" ? [] : [v]));
  return { kind: "binary", path, args };
}
