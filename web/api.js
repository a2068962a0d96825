// Talking to the server: JSON over fetch with the session cookie, errors as ApiError with the
// server's stable code, and who is signed in.

export class ApiError extends Error {
  /** status 0 means the request never got an answer (no network). */
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }

  get offline() {
    return this.status === 0;
  }
}

/**
 * api("PUT", "/proposals/x/ballot", {choice: "yes"}) → the parsed JSON answer (or text).
 * `body` is sent as JSON unless `options.type` names another content type (then it is sent as is).
 */
export async function api(method, path, body, options = {}) {
  const headers = { Accept: options.accept || "application/json" };
  const init = { method, headers, credentials: "same-origin", cache: "no-store" };
  if (body !== undefined) {
    if (options.type) {
      headers["Content-Type"] = options.type;
      init.body = body;
    } else {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
  }
  if (options.signal) init.signal = options.signal;
  let response;
  try {
    response = await fetch(`/api/v1${path}`, init);
  } catch (e) {
    if (e && e.name === "AbortError") throw e;
    throw new ApiError(0, "network", String((e && e.message) || e));
  }
  const type = response.headers.get("Content-Type") || "";
  if (!response.ok) {
    let code = "http_" + response.status;
    let message = response.statusText;
    if (type.startsWith("application/json")) {
      try {
        const data = await response.json();
        if (data && data.error) {
          code = data.error.code || code;
          message = data.error.message || message;
        }
      } catch {
        // keep the status text
      }
    }
    throw new ApiError(response.status, code, message);
  }
  if (response.status === 204) return null;
  if (type.startsWith("application/json")) return response.json();
  return response.text();
}

let current = null;

/** Who is signed in ({signed_in, me}), asked once and remembered until `refreshSession`. */
export async function session() {
  if (!current) current = await api("GET", "/session");
  return current;
}

export async function refreshSession() {
  current = null;
  return session();
}

export function forgetSession() {
  current = { signed_in: false, me: null };
}

/** The memberships of the signed-in account (empty when signed out). */
export async function memberships() {
  const s = await session();
  return (s.signed_in && s.me && s.me.memberships) || [];
}

const communities = new Map();

/** A community (name, timezone, role), remembered for the page's life. */
export async function community(id) {
  if (!communities.has(id)) {
    communities.set(
      id,
      api("GET", `/communities/${encodeURIComponent(id)}`).catch((e) => {
        communities.delete(id);
        throw e;
      }),
    );
  }
  return communities.get(id);
}

/** A random key for one intended ballot (the same key on every retry of it). */
export function newKey() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
