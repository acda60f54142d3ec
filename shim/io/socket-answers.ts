/** Whether something accepts connections on a unix socket (a shim, the warm pool): connect, then close. */
import { connect } from "node:net";

export function socketAnswers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}
