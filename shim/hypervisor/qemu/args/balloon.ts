import { opts, type QemuArg, type VirtioBus, virtioDevice } from "./qemu-arg.js";

/**
 * virtio-balloon with free page reporting: the guest hands pages it frees back to the host, so
 * an idle VM's resident memory shrinks to what the guest really uses (the guest needs the
 * virtio_balloon module). deflate-on-oom lets the guest take memory back under pressure.
 */
export class BalloonArg implements QemuArg {
  constructor(readonly bus: VirtioBus) {}
  render(): string[] {
    return [
      "-device",
      opts(virtioDevice("virtio-balloon", this.bus), {
        id: "balloon0",
        "free-page-reporting": "on",
        "deflate-on-oom": "on",
      }),
    ];
  }
}
