// "What's new" on the home screen: for one community, what happened since the resident last
// marked their notices read — proposals opened, votes closing within a day, the council's
// response to their petition, replies to their comments, and changes of the owners' committee
// (seated, a seat fell vacant and who moved up, a new election due).

import { h, replace, user, announce } from "../dom.js";
import { api } from "../api.js";
import { t, tNodes, formatDateTime } from "../i18n.js";
import { errorBox, busy } from "./common.js";

function link(n) {
  if (n.kind.startsWith("committee_")) return `/committee/${n.community}`;
  if (n.kind === "petition_response") return `/petition/${n.petition}`;
  if (n.kind === "reply") {
    const [kind, id] = n.subject.split(":");
    return kind === "proposal" ? `/p/${id}#comment-${n.comment}` : `/petition/${id}#comment-${n.comment}`;
  }
  return `/p/${n.proposal}`;
}

function sentence(n, timezone) {
  switch (n.kind) {
    case "closing_soon":
      return t("notices.closing_soon", { when: formatDateTime(n.at, timezone) });
    case "reply":
      return n.official ? t("notices.reply_official") : t("notices.reply");
    default:
      return t(`notices.${n.kind}`);
  }
}

/** What a notice says, names and titles kept as people wrote them. */
function content(n, timezone) {
  switch (n.kind) {
    case "committee_constituted":
      return [t("notices.committee_constituted"), n.title ? [" ", user(n.title)] : null];
    case "committee_vacancy":
      return [
        tNodes("notices.committee_vacancy", { who: user(n.left || "?") }),
        n.reason ? [" ", user(n.reason, "q")] : null,
        " ",
        n.moved_up ? tNodes("notices.committee_moved_up", { who: user(n.moved_up) }) : t("notices.committee_nobody_moved"),
      ];
    case "committee_reelection_due":
      return t("notices.committee_reelection_due");
    default:
      return [sentence(n, timezone), " ", user(n.title || "")];
  }
}

/** The notices box of a community (null when there is nothing new). */
export async function noticesBox(communityId, timezone) {
  let data;
  try {
    data = await api("GET", `/communities/${encodeURIComponent(communityId)}/notices`);
  } catch (e) {
    return errorBox(e);
  }
  if (!data.notices.length) return null;
  const box = h("section", { class: "notices card", "aria-label": t("notices.title"), "data-notices": communityId });
  const button = h("button", { type: "button", class: "button small secondary" }, t("notices.mark_read"));
  button.addEventListener("click", () => busy(button, async () => {
    try {
      await api("POST", `/communities/${encodeURIComponent(communityId)}/notices/seen`, {});
      const pressing = data.notices.filter((n) => n.kind === "closing_soon");
      announce(t("notices.marked"));
      if (pressing.length) {
        data.notices = pressing;
        draw(false);
      } else {
        box.remove();
      }
    } catch (e) {
      box.append(errorBox(e));
    }
  }));
  const draw = (withButton) => replace(box,
    h("h3", {}, t("notices.title")),
    h("ul", { class: "notice-list" }, data.notices.map((n) => h("li", { "data-kind": n.kind },
      h("a", { href: link(n) }, content(n, timezone))))),
    withButton ? button : null);
  draw(true);
  return box;
}
