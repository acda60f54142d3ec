/**
 * A stand-in's terminal follows its caller's window: the caller (Docker through containerd's
 * runc shim, conmon) sets the size on the pty master it received over --console-socket, which
 * signals nobody here, so the stand-in reads the size from its slave every `everyMs` and passes
 * each change to the guest process's pty (the shim's ResizePty).
 */
import type { WindowSize } from "./host-stdio.js";

/** Starts following; returns the function that stops it. A size of 0x0 (never set) is skipped. */
export function followWindowSize(
  read: () => WindowSize,
  apply: (size: WindowSize) => Promise<unknown>,
  onError: (err: unknown) => void,
  everyMs = 200,
): () => void {
  let applied = "";
  let busy = false;
  let failures = 0;
  const tick = () => {
    if (busy) return;
    let size: WindowSize;
    try {
      size = read();
    } catch (err) {
      onError(err);
      return;
    }
    const key = `${size.columns}x${size.rows}`;
    if ((size.columns === 0 && size.rows === 0) || key === applied) return;
    busy = true;
    apply(size)
      .then(
        () => {
          applied = key;
        },
        // tried again at the next tick (the process may not take a size yet)
        (err: unknown) => {
          if (failures++ === 0) onError(err);
        },
      )
      .finally(() => {
        busy = false;
      });
  };
  const timer = setInterval(tick, everyMs);
  timer.unref();
  tick();
  return () => clearInterval(timer);
}
