import { SUPERVISION, call } from "./api.js";
import { errorText, h } from "./dom.js";
import { when } from "./words.js";

// The signed-in person's calendar feeds: private addresses that calendar applications subscribe
// to without signing in. The service keeps only a hash of a feed's token, so a new feed's link
// can be shown once, when it is made; the list shows each feed by when it was made, to revoke.
export function calendarFeeds() {
  const feedback = h("p", { className: "error", role: "alert" });
  const notice = h("p", { className: "muted", role: "status" });
  const fresh = h("div", { className: "new-feed", "aria-live": "polite" });
  const list = h("div", {}, h("p", {}, "Loading…"));
  let feeds = [];
  let shownFeedId = "";  // the feed whose link `fresh` shows

  // Disabled while the listing loads and while a feed is being made.
  const create = h("button", {
    type: "button",
    onclick: async () => {
      create.disabled = true;
      feedback.textContent = "";
      notice.textContent = "";
      try {
        const { feed } = await call(SUPERVISION, "CreateCalendarFeed", {});
        showLink(feed.feedId, new URL(feed.path, location.origin).href);
        feeds = [...feeds, feed];
        renderList();
      } catch (error) {
        feedback.textContent = `Could not create a calendar feed: ${error.message}`;
      } finally {
        create.disabled = false;
      }
    },
  }, "Create calendar feed");
  create.disabled = true;

  function showLink(feedId, url) {
    shownFeedId = feedId;
    const field = h("input", {
      id: "calendar-feed-link", type: "text", readonly: true, value: url, spellcheck: "false",
      autocomplete: "off", "aria-describedby": "calendar-feed-link-note",
    });
    const copy = h("button", {
      type: "button",
      className: "secondary",
      onclick: async () => {
        try {
          await navigator.clipboard.writeText(url);
          notice.textContent = "Link copied.";
        } catch {
          // No clipboard for this page (a plain-HTTP address, or permission refused): the link
          // is selected for the person to copy.
          field.focus();
          field.select();
          notice.textContent = document.execCommand("copy")
            ? "Link copied." : "The link is selected: copy it with Ctrl+C (⌘C on a Mac).";
        }
      },
    }, "Copy link");
    fresh.replaceChildren(
      h("p", {}, "Your new calendar feed is ready."),
      h("label", { for: field.id }, "Calendar feed link"), field,
      h("p", { id: "calendar-feed-link-note", className: "muted" },
        "This link is shown only this once: add it to your calendar app now. Anyone with the " +
        "link sees your supervision calendar without signing in, so keep it to yourself, and " +
        "revoke the feed if the link gets out."),
      h("div", { className: "actions" }, copy));
  }

  function renderList() {
    if (feeds.length === 0) {
      list.replaceChildren(h("p", { className: "empty" }, "You have no calendar feeds."));
      return;
    }
    const seen = new Map();  // names stay unique when two feeds were made in the same minute
    list.replaceChildren(h("ul", { className: "feeds" },
      feeds.map((feed) => {
        const made = when(feed.createTime);
        const count = (seen.get(made) || 0) + 1;
        seen.set(made, count);
        return feedItem(feed, count > 1 ? `${made} (${count})` : made);
      })));
  }

  // A feed, with "Revoke" asking once more before it acts: calendar apps lose the feed for good.
  function feedItem(feed, made) {
    const name = `calendar feed created ${made}`;
    const actions = h("div", { className: "actions" });
    const revoke = h("button", {
      type: "button", className: "secondary", "aria-label": `Revoke ${name}`,
      onclick: () => {
        const warningId = `revoke-${feed.feedId}-warning`;
        const yes = h("button", {
          type: "button", "aria-label": `Yes, revoke ${name}`, "aria-describedby": warningId,
          onclick: async () => {
            if (yes.getAttribute("aria-busy")) return;
            yes.setAttribute("aria-busy", "true");
            feedback.textContent = "";
            notice.textContent = "";
            try {
              await call(SUPERVISION, "RevokeCalendarFeed", { feedId: feed.feedId });
              feeds = feeds.filter((other) => other.feedId !== feed.feedId);
              if (shownFeedId === feed.feedId) {
                fresh.replaceChildren();
                shownFeedId = "";
              }
              renderList();
              notice.textContent = `Revoked the ${name}: its link no longer works.`;
              create.focus();
            } catch (error) {
              feedback.textContent = `Could not revoke the calendar feed: ${error.message}`;
              yes.removeAttribute("aria-busy");
            }
          },
        }, "Yes, revoke");
        const cancel = h("button", {
          type: "button", className: "secondary", "aria-label": `Cancel revoking the ${name}`,
          onclick: () => {
            actions.replaceChildren(revoke);
            revoke.focus();
          },
        }, "Cancel");
        actions.replaceChildren(
          h("p", { id: warningId, className: "confirm" },
            "Calendar apps using this link stop getting your sessions. This cannot be undone."),
          yes, cancel);
        yes.focus();
      },
    }, "Revoke");
    actions.append(revoke);
    return h("li", {},
      h("span", {}, `Created ${made}`,
        feed.feedId === shownFeedId ? h("span", { className: "muted" }, " · its link is above")
                                    : null),
      actions);
  }

  (async () => {
    try {
      ({ feeds = [] } = await call(SUPERVISION, "ListCalendarFeeds", {}));
      renderList();
    } catch (error) {
      list.replaceChildren(errorText(error));
    } finally {
      create.disabled = false;
    }
  })();

  return h("div", {},
    h("p", {}, "Follow your supervision sessions in your calendar app (Outlook, Google Calendar, " +
      "Apple Calendar…): it subscribes to a private link and picks up changes by itself."),
    h("div", { className: "actions" }, create),
    fresh, feedback, notice,
    h("h3", {}, "My calendar feeds"), list);
}
