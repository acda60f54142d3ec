/**
 * Builds a busybox OCI image locally (no registry is reachable here): busybox-static from Debian
 * with its applet links, /etc/passwd and /etc/group, written as an OCI image layout tar that
 * `ctr images import` accepts under the given name.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const BUSYBOX = "/bin/busybox";

function sha256(data: Buffer | string): string {
  return createHash("sha256").update(data).digest("hex");
}

/** A busybox rootfs in `root`: the binary, one symlink per applet, users and groups. */
export function writeBusyboxRootfs(root: string): void {
  for (const d of ["bin", "dev", "etc", "proc", "sys", "tmp", "root", "var"])
    mkdirSync(join(root, d), { recursive: true });
  cpSync(BUSYBOX, join(root, "bin/busybox"));
  for (const applet of execFileSync(BUSYBOX, ["--list"], { encoding: "utf8" }).split("\n")) {
    if (applet && applet !== "busybox") symlinkSync("busybox", join(root, "bin", applet));
  }
  writeFileSync(
    join(root, "etc/passwd"),
    "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534::/:/bin/false\n",
  );
  writeFileSync(join(root, "etc/group"), "root:x:0:\nnogroup:x:65534:\n");
}

/** What the image runs when a container does not say: the OCI image config's Entrypoint and Cmd. */
export interface BusyboxImageConfig {
  entrypoint?: string[];
  cmd?: string[];
}

/**
 * Writes the image tar to `out` and returns it. Without `run` the image runs `sh`. `addToRootfs`
 * writes more files into the busybox rootfs before it is packed (e.g. the installer image's
 * payload).
 */
export function buildBusyboxImage(
  out: string,
  name = "localhost/busybox:latest",
  run: BusyboxImageConfig = { cmd: ["sh"] },
  addToRootfs?: (rootfs: string) => void,
): string {
  const work = mkdtempSync(join(tmpdir(), "tskata-image-"));
  try {
    const rootfs = join(work, "rootfs");
    writeBusyboxRootfs(rootfs);
    addToRootfs?.(rootfs);
    const layout = join(work, "layout");
    const blobs = join(layout, "blobs/sha256");
    mkdirSync(blobs, { recursive: true });
    const layerTar = join(work, "layer.tar");
    execFileSync("tar", [
      "--numeric-owner",
      "--owner=0",
      "--group=0",
      "--sort=name",
      "-C",
      rootfs,
      "-cf",
      layerTar,
      ".",
    ]);
    const layer = readFileSync(layerTar);
    const layerDigest = sha256(layer);
    writeFileSync(join(blobs, layerDigest), layer);
    const blob = (obj: unknown) => {
      const text = JSON.stringify(obj);
      const digest = sha256(text);
      writeFileSync(join(blobs, digest), text);
      return { digest: `sha256:${digest}`, size: Buffer.byteLength(text) };
    };
    const config = blob({
      architecture: "amd64",
      os: "linux",
      config: {
        Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
        ...(run.entrypoint ? { Entrypoint: run.entrypoint } : {}),
        ...(run.cmd ? { Cmd: run.cmd } : {}),
      },
      rootfs: { type: "layers", diff_ids: [`sha256:${layerDigest}`] },
    });
    const manifest = blob({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: { mediaType: "application/vnd.oci.image.config.v1+json", ...config },
      layers: [
        {
          mediaType: "application/vnd.oci.image.layer.v1.tar",
          digest: `sha256:${layerDigest}`,
          size: layer.length,
        },
      ],
    });
    writeFileSync(
      join(layout, "index.json"),
      JSON.stringify({
        schemaVersion: 2,
        manifests: [
          {
            mediaType: "application/vnd.oci.image.manifest.v1+json",
            ...manifest,
            annotations: {
              "io.containerd.image.name": name,
              "org.opencontainers.image.ref.name": name.slice(name.lastIndexOf(":") + 1),
            },
          },
        ],
      }),
    );
    writeFileSync(join(layout, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
    execFileSync("tar", ["-C", layout, "-cf", out, "."]);
    return out;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
