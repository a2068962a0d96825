// Collects the page's errors in `window.__errors` (the browser tests read it; it is harmless
// for everyone else): uncaught errors, rejected promises, console errors and any request the
// Content-Security-Policy blocked. Imported first, so it is in place before the app runs.

const errors = [];
window.__errors = errors;

window.addEventListener("error", (event) => {
  errors.push(`error: ${event.message} at ${event.filename}:${event.lineno}`);
});
window.addEventListener("unhandledrejection", (event) => {
  const reason = event.reason;
  errors.push(`unhandled rejection: ${(reason && (reason.stack || reason.message)) || reason}`);
});
document.addEventListener("securitypolicyviolation", (event) => {
  errors.push(`CSP blocked ${event.blockedURI} (${event.violatedDirective})`);
});
const consoleError = console.error.bind(console);
console.error = (...args) => {
  errors.push(`console.error: ${args.map(String).join(" ")}`);
  consoleError(...args);
};
