// The projector view for council meetings: the live tally, large enough to read from the back
// of a room — big numbers, thick condition bars, the deadline, and whether the outcome is
// already certain. For an election, the ranking of the candidates, live while voting.

import { h, replace, user } from "../dom.js";
import { api, community } from "../api.js";
import { t, formatDateTime, formatRelative } from "../i18n.js";
import { liveTally } from "./resident.js";
import { rankingSection } from "./election.js";
import { pageTitle } from "./common.js";

export async function page(ctx) {
  const id = ctx.params[0];
  const p = await api("GET", `/proposals/${encodeURIComponent(id)}`);
  const info = await community(p.community);
  ctx.setTitle(t("projector.title"));
  const deadline = h("p", { class: "deadline" });
  const drawDeadline = () => {
    if (p.state === "voting") {
      deadline.textContent = t("projector.closes", { when: formatDateTime(p.closes_at, info.timezone), rel: formatRelative(p.closes_at) });
    } else {
      deadline.textContent = t(`state.${p.state}`);
    }
  };
  drawDeadline();
  const clock = setInterval(drawDeadline, 30000);
  ctx.onCleanup(() => clearInterval(clock));
  const onMessage = (m) => {
    if (m.closes_at) p.closes_at = m.closes_at;
    if (m.state) p.state = m.state;
    drawDeadline();
  };
  const tally = p.question === "election"
    ? rankingSection(ctx, p, await api("GET", `/proposals/${encodeURIComponent(id)}/election`), { title: t("projector.tally"), onMessage })
      || h("p", { class: "notice" }, t("el.no_result"))
    : liveTally(ctx, p, { big: true, title: t("projector.tally"), onMessage });
  replace(
    ctx.main,
    h("div", { class: "projector-head" },
      h("p", { class: "eyebrow" }, user(info.name)),
      pageTitle(user(p.title)),
      deadline),
    tally,
    h("p", { class: "exit" }, h("a", { href: `/p/${p.id}` }, t("projector.exit"))),
  );
}
