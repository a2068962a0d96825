// The live tally over a WebSocket: every (re)connection starts with a full snapshot, so a
// dropped connection is repaired by reconnecting — with growing, jittered delays, at once when
// the network returns or the page becomes visible — and stops after the final message.

/**
 * watchProposal(id, {onMessage(msg), onStatus(status, delayMs)}) → {stop()}.
 * Status is "connecting", "live", "reconnecting" (with the delay), "final" or "stopped".
 */
export function watchProposal(id, { onMessage, onStatus }) {
  let socket = null;
  let timer = null;
  let attempt = 0;
  let stopped = false;
  let finished = false;

  const status = (s, delay) => onStatus && onStatus(s, delay);

  function connect() {
    clearTimeout(timer);
    timer = null;
    if (stopped || finished) return;
    status("connecting");
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(`${scheme}//${location.host}/api/v1/proposals/${encodeURIComponent(id)}/live`);
    socket = ws;
    ws.addEventListener("open", () => {
      attempt = 0;
      status("live");
    });
    ws.addEventListener("message", (event) => {
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        return;
      }
      if (message.type === "final") finished = true;
      onMessage(message);
    });
    ws.addEventListener("close", () => {
      if (socket !== ws) return;
      socket = null;
      if (stopped) return;
      if (finished) {
        status("final");
        return;
      }
      schedule();
    });
  }

  function schedule() {
    attempt += 1;
    const base = Math.min(30000, 1000 * 2 ** Math.min(attempt - 1, 5));
    const delay = Math.round(base * (0.75 + Math.random() * 0.5));
    status("reconnecting", delay);
    timer = setTimeout(connect, delay);
  }

  /** Reconnect now if we are waiting to. */
  function kick() {
    if (!stopped && !finished && !socket) connect();
  }

  const onVisible = () => {
    if (document.visibilityState === "visible") kick();
  };
  window.addEventListener("online", kick);
  document.addEventListener("visibilitychange", onVisible);
  connect();

  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
      window.removeEventListener("online", kick);
      document.removeEventListener("visibilitychange", onVisible);
      if (socket) {
        const ws = socket;
        socket = null;
        ws.close();
      }
    },
  };
}
