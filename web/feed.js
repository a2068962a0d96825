// A community's live feed over a WebSocket (proposals opened and closed, new comments, petitions
// due), reconnecting with growing delays; on every (re)connection the caller resyncs.

/** watchCommunity(id, onEvent(event)) → stop(). `{type: "hello"}` arrives on each connection. */
export function watchCommunity(id, onEvent) {
  let socket = null;
  let timer = null;
  let attempt = 0;
  let stopped = false;

  function connect() {
    timer = null;
    if (stopped) return;
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(`${scheme}//${location.host}/api/v1/communities/${encodeURIComponent(id)}/live`);
    socket = ws;
    ws.addEventListener("open", () => {
      attempt = 0;
    });
    ws.addEventListener("message", (event) => {
      try {
        onEvent(JSON.parse(event.data));
      } catch {
        // a message that is not JSON is ignored
      }
    });
    ws.addEventListener("close", () => {
      if (stopped) return;
      attempt += 1;
      const delay = Math.min(30000, 500 * 2 ** Math.min(attempt, 6)) * (0.75 + Math.random() / 2);
      timer = setTimeout(connect, delay);
    });
  }

  connect();
  return () => {
    stopped = true;
    clearTimeout(timer);
    if (socket) socket.close();
  };
}
