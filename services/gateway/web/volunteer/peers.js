// The peer network in the volunteers' app: their channels with unread counts, a conversation
// live as it happens, posting, reporting a message. One Subscribe stream for the whole app keeps
// the channels current; an event delivered inside the volunteer's quiet hours (`silent`) updates
// the lists but raises no badge and no announcement.
import {
  ApiError, NETWORK, call, callAll, keepStreaming, newRequestId, stream,
} from "../shared/api.js";
import { announce, card, errorText, h } from "../shared/dom.js";
import { when } from "../shared/words.js";

const KIND_WORDS = {
  CHANNEL_KIND_GROUP: "Group",
  CHANNEL_KIND_DIRECT: "Conversation",
  CHANNEL_KIND_BUDDY: "Buddy",
  CHANNEL_KIND_ANNOUNCEMENT: "Announcements",
};

// The volunteer's channels, kept current from one Subscribe stream that resumes from the last
// sequence seen per channel after a dropped connection (nothing missed, nothing twice).
export class PeerFeed {
  constructor(me, onBadge) {
    this.me = me;
    this.channels = new Map();
    this.openChannelId = "";
    this.listeners = new Set();
    this.badge = 0;  // messages from others that arrived outside quiet hours, not yet seen
    this.onBadge = onBadge;
    this.loaded = false;
    this.ready = new Promise((resolve) => { this.markLoaded = resolve; });
    this.follow();
  }

  isMember(channel) {
    return (channel.memberIds || []).includes(this.me);
  }

  // Lists the channels, then follows them from the last sequence seen in each; after a dropped
  // connection (or a start without one) it lists them again first, for what changed meanwhile
  // (an invitation, a channel joined elsewhere), with backoff.
  follow() {
    keepStreaming(async () => {
      await this.relist();
      const cursors = [...this.channels.values()].filter((channel) => this.isMember(channel))
        .map((channel) => ({ channelId: channel.channelId,
                             afterSequence: channel.lastSequence || "0" }));
      await stream(NETWORK, "Subscribe", { cursors, followNewChannels: true },
                   { onMessage: (event) => this.apply(event) });
    });
  }

  // A channel already known keeps its own last sequence and unread count: the stream delivers
  // (and counts) what came after them, once.
  async relist() {
    const listed = await callAll(NETWORK, "ListChannels", {}, "channels");
    const known = this.channels;
    this.channels = new Map(listed.map((channel) => {
      const before = known.get(channel.channelId);
      return [channel.channelId, before && this.isMember(before)
        ? { ...channel, lastSequence: before.lastSequence, unreadCount: before.unreadCount }
        : channel];
    }));
    this.loaded = true;
    this.markLoaded();
    for (const listener of this.listeners) listener({});
  }

  apply(event) {
    if (event.channel) {
      this.channels.set(event.channel.channelId, event.channel);
    }
    const message = event.message;
    if (message) {
      const channel = this.channels.get(message.channelId);
      const fresh = channel && Number(message.sequence) > Number(channel.lastSequence || 0);
      if (channel && fresh) {
        channel.lastSequence = message.sequence;
        const fromOther = message.authorId !== this.me;
        if (fromOther && message.channelId !== this.openChannelId) {
          channel.unreadCount = String(Number(channel.unreadCount || 0) + 1);
          if (!event.silent) {
            this.badge += 1;
            this.onBadge(this.badge);
            announce(`New message from ${message.authorDisplayName} in ${channel.displayName}`);
          }
        }
      }
    }
    for (const listener of this.listeners) listener(event);
  }

  seen(channelId) {
    const channel = this.channels.get(channelId);
    if (channel) channel.unreadCount = "0";
    this.badge = 0;
    this.onBadge(0);
  }

  listen(listener) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

function channelList(feed) {
  const channels = [...feed.channels.values()];
  if (channels.length === 0) {
    return h("p", { className: "empty" }, "You are in no channels yet.");
  }
  return h("ul", { className: "channels" }, channels.map((channel) => {
    const unread = Number(channel.unreadCount || 0);
    const invited = !feed.isMember(channel);
    return h("li", {},
      h("a", { href: `#/peers/${channel.channelId}` }, channel.displayName),
      h("span", { className: "muted" }, ` ${KIND_WORDS[channel.kind] || ""}`),
      invited ? h("span", { className: "badge medium" }, "invited") : null,
      unread ? h("span", { className: "badge low" }, String(unread),
                 h("span", { className: "visually-hidden" }, " unread")) : null);
  }));
}

function messageItem(message, feed, names) {
  const mine = message.authorId === feed.me;
  const author = mine ? "You" : (message.authorDisplayName || "Former member");
  const item = h("li", { className: `message${mine ? " mine" : ""}`,
                         "data-sequence": String(message.sequence) },
    h("p", { className: "meta" }, h("strong", {}, author), ` · ${when(message.createTime)}`),
    message.replyToMessageId && names.has(message.replyToMessageId)
      ? h("p", { className: "muted" }, `Replying to ${names.get(message.replyToMessageId)}`) : null,
    h("p", { className: "body" }, message.deleted ? "(deleted)" : message.body));
  if (!mine && !message.deleted) {
    const report = h("button", {
      type: "button", className: "link", "aria-label": `Report message from ${author}`,
      onclick: () => {
        const reason = h("textarea", { id: `reason-${message.messageId}`, maxlength: "1000",
                                       required: true });
        const feedback = h("p", { role: "status" });
        const form = h("form", {
          className: "report",
          "aria-label": `Report message from ${author}`,
          onsubmit: async (event) => {
            event.preventDefault();
            if (!reason.value.trim()) {
              feedback.textContent = "Say briefly what is wrong with it.";
              reason.focus();
              return;
            }
            try {
              await call(NETWORK, "ReportMessage", {
                channelId: message.channelId, messageId: message.messageId,
                reason: reason.value.trim(),
              });
              form.replaceChildren(h("p", { role: "status" },
                "Reported. A coordinator will look at it; they do not tell the author who " +
                "reported it."));
            } catch (error) {
              feedback.textContent = `Not reported: ${error.message}`;
            }
          },
        },
        h("label", { for: reason.id }, "What is wrong with this message?"), reason,
        h("div", { className: "actions" },
          h("button", { type: "submit" }, "Send report"),
          h("button", { type: "button", className: "secondary",
                        onclick: () => { form.remove(); report.hidden = false; report.focus(); } },
            "Cancel")),
        feedback);
        report.hidden = true;
        item.append(form);
        reason.focus();
      },
    }, "Report");
    item.append(report);
  }
  return item;
}

function conversation(feed, channel, cleanups) {
  const list = h("ol", { className: "messages" });
  const log = h("div", { role: "log", "aria-label": "Messages" }, list);
  const shown = new Map();  // message id -> its item
  const authors = new Map();  // message id -> author, for "replying to"
  let last = 0;
  // In sequence order whichever comes first, the history or a live message; a message seen
  // again (deleted since) replaces its item.
  const add = (message) => {
    const item = messageItem(message, feed, authors);
    const before = shown.get(message.messageId);
    shown.set(message.messageId, item);
    if (before) {
      before.replaceWith(item);
      return;
    }
    authors.set(message.messageId, message.authorDisplayName);
    const sequence = Number(message.sequence);
    last = Math.max(last, sequence);
    const next = [...list.children].find((each) => Number(each.dataset.sequence) > sequence);
    list.insertBefore(item, next || null);
  };
  const markRead = () => {
    if (last) call(NETWORK, "MarkRead", { channelId: channel.channelId, sequence: String(last) })
      .catch(() => {});
  };

  let pendingId = "";
  // An edited text is another message: it gets an id of its own.
  const body = h("textarea", { id: "message-body", maxlength: "4000", required: true,
                               oninput: () => { pendingId = ""; } });
  const feedback = h("p", { className: "error", role: "alert" });
  const form = h("form", {
    className: "compose",
    onsubmit: async (event) => {
      event.preventDefault();
      const text = body.value.trim();
      if (!text) return;
      // The same id for retries of this text, so a post whose answer was lost is not doubled.
      pendingId ||= newRequestId();
      const button = form.querySelector("button");
      button.disabled = true;
      try {
        const { message } = await call(NETWORK, "PostMessage", {
          channelId: channel.channelId, body: text, clientMessageId: pendingId,
        });
        pendingId = "";
        body.value = "";
        feedback.textContent = "";
        add(message);
        markRead();
      } catch (error) {
        feedback.textContent = error instanceof ApiError
          ? `Not sent: ${error.message}` : "Not sent: you seem to be offline. Try again.";
      } finally {
        button.disabled = false;
        body.focus();
      }
    },
  },
  h("label", { for: body.id }, "Message"), body,
  h("div", { className: "actions" }, h("button", { type: "submit" }, "Send")), feedback);

  (async () => {
    try {
      const from = Math.max(0, Number(channel.lastSequence || 0) - 50);
      const { messages = [] } = await call(NETWORK, "ListMessages", {
        channelId: channel.channelId, afterSequence: String(from), pageSize: 50,
      });
      messages.forEach(add);
      markRead();
      list.lastElementChild?.scrollIntoView({ block: "end" });
    } catch (error) {
      log.replaceWith(errorText(error));
    }
  })();
  cleanups.push(feed.listen((event) => {
    if (event.message?.channelId !== channel.channelId) return;
    add(event.message);
    markRead();
  }));
  return [log, form];
}

function invitation(feed, channel, rerender) {
  const feedback = h("p", { role: "status" });
  return h("div", {},
    h("p", {}, "You are invited to this conversation. Join to read and write in it; " +
               "declining is fine."),
    h("div", { className: "actions pair" },
      h("button", {
        type: "button",
        onclick: async () => {
          try {
            const { channel: joined } = await call(NETWORK, "JoinChannel",
                                                   { channelId: channel.channelId });
            feed.channels.set(joined.channelId, joined);
            rerender();
          } catch (error) {
            feedback.textContent = error.message;
          }
        },
      }, "Join"),
      h("button", {
        type: "button", className: "secondary",
        onclick: async () => {
          try {
            await call(NETWORK, "LeaveChannel", { channelId: channel.channelId });
            feed.channels.delete(channel.channelId);
            location.hash = "#/peers";
          } catch (error) {
            feedback.textContent = error.message;
          }
        },
      }, "Decline")),
    feedback);
}

// Starting a conversation with another volunteer, or asking them to be buddies (they are
// invited until they join). Asking again for the same pair opens the conversation that exists.
function startConversation(app, feed) {
  const box = h("div", {}, h("p", {}, "Loading…"));
  (async () => {
    await app.namesLoaded;
    const others = app.people.filter((person) => person.role === "ROLE_VOLUNTEER" &&
                                                 person.personId !== feed.me);
    if (others.length === 0) {
      box.replaceChildren(h("p", { className: "empty" }, "There is nobody else to write to yet."));
      return;
    }
    const who = h("select", { id: "start-with", required: true },
                  h("option", { value: "" }, "Choose a volunteer"),
                  others.map((person) => h("option", { value: person.personId },
                                           person.displayName)));
    const feedback = h("p", { className: "error", role: "alert" });
    const kinds = [["CHANNEL_KIND_DIRECT", "A conversation"],
                   ["CHANNEL_KIND_BUDDY", "Ask them to be my buddy"]];
    const form = h("form", {
      onsubmit: async (event) => {
        event.preventDefault();
        if (!who.value) {
          feedback.textContent = "Choose whom to write to.";
          who.focus();
          return;
        }
        const kind = form.querySelector("input[name=start-kind]:checked").value;
        const named = kind === "CHANNEL_KIND_BUDDY" ? { invitedIds: [who.value] }
                                                    : { memberIds: [who.value] };
        try {
          const { channel } = await call(NETWORK, "CreateChannel",
                                         { channel: { kind, ...named } });
          feed.channels.set(channel.channelId, channel);
          location.hash = `#/peers/${channel.channelId}`;
        } catch (error) {
          feedback.textContent = `Not started: ${error.message}`;
        }
      },
    },
    h("label", { for: who.id }, "With"), who,
    h("fieldset", { className: "question" }, h("legend", {}, "What kind"),
      h("div", { className: "choices" }, kinds.map(([value, words], index) => h("div",
        { className: "choice" },
        h("input", { type: "radio", name: "start-kind", id: `start-${value}`, value,
                     checked: index === 0 }),
        h("label", { for: `start-${value}` }, words))))),
    h("p", { className: "muted" }, "A buddy is someone to check in with between sessions; " +
      "they are asked first and may say no."),
    h("div", { className: "actions" }, h("button", { type: "submit" }, "Start")),
    feedback);
    box.replaceChildren(form);
  })();
  return box;
}

// The Peers page: the list, or one channel's conversation. Returns what to undo on leaving.
export function peersView(app, show, channelId) {
  const feed = app.peers;
  let left = false;  // the volunteer moved on before the channels were in
  const cleanups = [() => {
    left = true;
    feed.openChannelId = "";
  }];
  const render = async () => {
    if (!feed.loaded) {
      show(h("h1", {}, "Peers"),
           h("p", { role: "status" }, "Connecting… your conversations show once you are online."));
      await feed.ready;
      if (left) return;
    }
    const channel = channelId && feed.channels.get(channelId);
    if (!channelId) {
      const list = h("div", {}, channelList(feed));
      cleanups.push(feed.listen(() => list.replaceChildren(channelList(feed))));
      feed.seen("");
      show(h("h1", {}, "Peers"),
           h("p", {}, "Your groups, buddies and conversations with other volunteers. Messages " +
                      "show names only; what is said here stays between the people in it."),
           card("My channels", "my-channels", list),
           card("Start a conversation", "start-conversation", startConversation(app, feed)));
      return;
    }
    if (!channel) {
      show(h("h1", {}, "Conversation"), h("p", {}, "You are not in this conversation."),
           h("p", {}, h("a", { href: "#/peers" }, "All channels")));
      return;
    }
    feed.openChannelId = channel.channelId;
    feed.seen(channel.channelId);
    const content = feed.isMember(channel)
      ? conversation(feed, channel, cleanups)
      // Joined: the page again, through the router, which undoes this one first.
      : [invitation(feed, channel, () => dispatchEvent(new HashChangeEvent("hashchange")))];
    show(h("h1", {}, channel.displayName),
         h("p", {}, h("a", { href: "#/peers" }, "All channels"),
           h("span", { className: "muted" }, ` · ${KIND_WORDS[channel.kind] || ""}`)),
         ...content);
  };
  render();
  return () => cleanups.forEach((cleanup) => cleanup());
}
