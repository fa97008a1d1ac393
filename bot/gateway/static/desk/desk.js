/* Agent desk: queue | conversation + reply | account + offers.
 *
 * Reads /desk/api/queue and /desk/api/conversations/{id}; the server pushes
 * signals on /desk/api/events ("queue", "conversation" with an id) and the
 * page reads again. Every piece of data is put on the page with textContent:
 * transcripts hold what cardholders typed. Needs common.js (window.Desk).
 */
(function () {
  "use strict";

  var D = window.Desk;
  if (!D) return;
  var t = D.t;
  var el = D.el;

  var MAX_CHARS = 2000;
  var NEAR_LIMIT = 1800;
  var SAFETY_REFRESH_MS = 20000;
  var LONG_WAIT_SECONDS = 300;
  var GROUPS = ["waiting", "mine", "others"];

  function $(id) {
    return document.getElementById(id);
  }

  var ui = {
    queue: $("queue"),
    title: $("conv-title"),
    meta: $("conv-meta"),
    take: $("take-btn"),
    handback: $("handback-btn"),
    close: $("close-btn"),
    pane: $("transcript-pane"),
    empty: $("conv-empty"),
    transcript: $("transcript"),
    jump: $("jump-new"),
    form: $("reply-form"),
    note: $("reply-note"),
    text: $("reply-text"),
    send: $("reply-send"),
    counter: $("reply-counter"),
    accountBody: $("account-body"),
    offers: $("offers"),
    offersEmpty: $("offers-empty"),
    offersCount: $("offers-count"),
    history: $("history-panel"),
    status: $("desk-status"),
    announcer: $("announcer"),
    conn: $("conn-state"),
    connText: $("conn-text"),
    dialog: $("confirm-dialog"),
    confirmTitle: $("confirm-title"),
    confirmOffer: $("confirm-offer"),
    confirmNote: $("confirm-note"),
    confirmYes: $("confirm-yes"),
    confirmNo: $("confirm-no"),
  };

  var state = {
    queue: null,
    waitingIds: null, // ids seen waiting at the last read (null before the first)
    mine: {},
    me: null, // my username, once the API has shown it
    openId: null,
    detail: null,
    rendered: [], // message ids on screen, in order
    lastDay: null,
    deliveries: {}, // message id -> delivery of a reply sent from this page
    drafts: {},
    sending: false,
    busy: false,
    decision: null,
    focusReply: false,
  };

  function enc(value) {
    return encodeURIComponent(value);
  }

  // --- status toast -------------------------------------------------------------

  var toastTimer = null;

  function closeIcon() {
    var icon = D.svg("svg", { viewBox: "0 0 24 24", width: 16, height: 16, "aria-hidden": "true", focusable: "false" });
    icon.appendChild(D.svg("path", { d: "M6 6l12 12M18 6L6 18" }));
    return icon;
  }

  function showStatus(message, kind) {
    if (toastTimer) clearTimeout(toastTimer);
    D.clear(ui.status);
    ui.status.className = "toast toast--" + (kind || "info") + " is-shown";
    ui.status.appendChild(el("span", "toast-text", message));
    var dismiss = el("button", "toast-close");
    dismiss.type = "button";
    dismiss.setAttribute("aria-label", t("dismiss"));
    dismiss.title = t("dismiss");
    dismiss.appendChild(closeIcon());
    dismiss.addEventListener("click", hideStatus);
    ui.status.appendChild(dismiss);
    toastTimer = setTimeout(hideStatus, kind === "error" ? 20000 : 6000);
  }

  function hideStatus() {
    if (toastTimer) clearTimeout(toastTimer);
    toastTimer = null;
    D.clear(ui.status);
    ui.status.className = "toast";
  }

  function showError(error) {
    if (error && error.status === 401) return; // on the way to the sign-in page
    showStatus((error && error.message) || t("networkError"), "error");
  }

  function announce(text) {
    ui.announcer.textContent = "";
    setTimeout(function () { ui.announcer.textContent = text; }, 50);
  }

  // --- one request at a time, the latest wins ----------------------------------

  function coalesce(fn) {
    var running = null;
    var again = false;
    function run() {
      if (running) {
        again = true;
        return running;
      }
      running = Promise.resolve()
        .then(fn)
        .catch(showError)
        .then(function () {
          running = null;
          if (again) {
            again = false;
            return run();
          }
          return undefined;
        });
      return running;
    }
    return run;
  }

  // --- labels -------------------------------------------------------------------

  function priorityClass(priority) {
    if (priority >= 100) return "urgent";
    if (priority >= 50) return "high";
    return "normal";
  }

  function authorKind(author) {
    if (author === "cardholder" || author === "bot" || author === "system") return author;
    if (typeof author === "string" && author.indexOf("agent") === 0) return "agent";
    return "system";
  }

  function authorLabel(author) {
    var kind = authorKind(author);
    if (kind === "agent") {
      var name = String(author).split(":").slice(1).join(":");
      return name ? t("author_agent", { name: name }) : t("author_agent", { name: "" }).trim();
    }
    if (kind === "system" && author !== "system") return String(author);
    return t("author_" + kind);
  }

  function whoLabel(who) {
    if (!who) return "—";
    if (who === "bot" || who === "assistant") return t("author_bot");
    if (who === "system") return t("author_system");
    if (who.indexOf("agent:") === 0) return t("author_agent", { name: who.slice(6) });
    return who;
  }

  function languageChip(language) {
    var chip = el("span", "chip chip--lang", language === "zh" ? "中文" : language === "en" ? "EN" : String(language || "—"));
    chip.title = D.label("lang_", language);
    if (language === "zh") chip.lang = "zh-CN";
    return chip;
  }

  function channelChip(channel) {
    var chip = el("span", "chip chip--channel chip--" + channel);
    chip.appendChild(D.icon(channel));
    chip.appendChild(el("span", null, D.label("channel_", channel)));
    return chip;
  }

  function offerSummary(offer) {
    var summary = offer.summary || {};
    return summary[D.lang()] || summary.en || summary.zh || "";
  }

  // --- ticking waits --------------------------------------------------------------

  function updateWait(node) {
    var seconds = D.secondsSince(node.getAttribute("data-since"));
    if (seconds === null) return;
    node.textContent = D.formatClock(seconds);
    node.classList.toggle("is-long", seconds >= LONG_WAIT_SECONDS);
  }

  function tick() {
    var nodes = document.querySelectorAll("[data-since]");
    for (var i = 0; i < nodes.length; i++) updateWait(nodes[i]);
  }

  function waitNode(since, className) {
    var node = el("span", className);
    node.setAttribute("data-since", since);
    node.title = t("waitingFor", { time: D.formatFullTime(since) });
    updateWait(node);
    return node;
  }

  // --- queue --------------------------------------------------------------------

  function queueItem(summary, group) {
    var li = el("li", "queue-item queue-item--" + priorityClass(summary.priority));
    li.setAttribute("data-conversation-id", summary.id);
    var button = el("button", "queue-btn");
    button.type = "button";
    if (summary.id === state.openId) {
      li.classList.add("is-open");
      button.setAttribute("aria-current", "true");
    }

    var top = el("span", "qi-row qi-top");
    var pclass = priorityClass(summary.priority);
    if (pclass !== "normal") top.appendChild(el("span", "badge badge--" + pclass, t("priority_" + pclass)));
    var reason = el("span", "qi-reason", D.reasonLabel(summary.reason) || D.label("owner_", summary.owner));
    reason.title = reason.textContent;
    top.appendChild(reason);
    if (summary.waiting_since && group === "waiting") top.appendChild(waitNode(summary.waiting_since, "qi-wait"));
    button.appendChild(top);

    var who = el("span", "qi-row qi-who");
    who.appendChild(el("span", summary.cardholder ? "qi-name" : "qi-name is-unverified", summary.cardholder || t("unverified")));
    if (summary.card_last4) who.appendChild(el("span", "qi-card", D.maskCard(summary.card_last4)));
    button.appendChild(who);

    var facts = el("span", "qi-row qi-facts");
    facts.appendChild(channelChip(summary.channel));
    facts.appendChild(languageChip(summary.language));
    if (summary.bucket) facts.appendChild(el("span", "chip chip--bucket bucket--" + summary.bucket, D.label("bucket_", summary.bucket)));
    button.appendChild(facts);

    if (summary.last_message) button.appendChild(el("span", "qi-preview", summary.last_message));

    if (summary.pending_offers > 0 || (group === "others" && summary.agent)) {
      var foot = el("span", "qi-row qi-foot");
      if (summary.pending_offers > 0) {
        var offers = summary.pending_offers === 1 ? t("offersCountOne") : t("offersCount", { n: summary.pending_offers });
        foot.appendChild(el("span", "badge badge--offers", offers));
      }
      if (group === "others" && summary.agent) {
        foot.appendChild(el("span", "qi-agent", t("withAgent", { name: summary.agent })));
      }
      button.appendChild(foot);
    }
    li.appendChild(button);
    return li;
  }

  function renderQueue() {
    var q = state.queue;
    if (!q) return;
    var focused = document.activeElement;
    var focusedId = null;
    if (focused && ui.queue.contains(focused)) {
      var item = focused.closest("li.queue-item");
      focusedId = item ? item.getAttribute("data-conversation-id") : null;
    }
    D.clear(ui.queue);
    ui.queue.removeAttribute("aria-busy");
    GROUPS.forEach(function (group) {
      var items = q[group] || [];
      var section = el("section", "queue-group queue-group--" + group);
      var heading = el("h3", "queue-group-title");
      heading.id = "queue-group-" + group;
      heading.appendChild(el("span", null, t("group_" + group)));
      var count = el("span", "count-badge" + (group === "waiting" && items.length ? " count-badge--alert" : ""), String(items.length));
      heading.appendChild(count);
      section.setAttribute("aria-labelledby", heading.id);
      section.appendChild(heading);
      if (!items.length) {
        section.appendChild(el("p", "empty-note queue-empty", t("empty_" + group)));
      } else {
        var list = el("ul", "queue-list");
        items.forEach(function (summary) { list.appendChild(queueItem(summary, group)); });
        section.appendChild(list);
      }
      ui.queue.appendChild(section);
    });
    var waiting = (q.waiting || []).length;
    document.title = waiting ? t("waitingTitle", { n: waiting }) : t("titleDesk");
    if (focusedId) {
      var again = ui.queue.querySelector('li.queue-item[data-conversation-id="' + cssEscape(focusedId) + '"] button');
      if (again) again.focus();
    }
  }

  function cssEscape(value) {
    return window.CSS && CSS.escape ? CSS.escape(value) : String(value).replace(/["\\]/g, "\\$&");
  }

  function takeQueue(data) {
    var q = {
      waiting: (data && data.waiting) || [],
      mine: (data && data.mine) || [],
      others: (data && data.others) || [],
    };
    var mine = {};
    q.mine.forEach(function (summary) {
      mine[summary.id] = true;
      if (summary.agent) state.me = summary.agent;
    });
    state.mine = mine;
    // Say so when someone new starts waiting (not on the first read).
    var seen = {};
    var fresh = [];
    q.waiting.forEach(function (summary) {
      seen[summary.id] = true;
      if (state.waitingIds && !state.waitingIds[summary.id]) fresh.push(summary);
    });
    state.waitingIds = seen;
    state.queue = q;
    renderQueue();
    if (fresh.length) {
      var first = fresh[0];
      var label = D.reasonLabel(first.reason) || D.label("channel_", first.channel);
      if (priorityClass(first.priority) !== "normal") label = t("priority_" + priorityClass(first.priority)) + " · " + label;
      announce(t("newWaiting", { label: label }));
    }
    if (state.detail) renderHeader();
  }

  var loadQueue = coalesce(function () {
    return D.api("GET", "/desk/api/queue").then(takeQueue);
  });

  ui.queue.addEventListener("click", function (event) {
    var item = event.target.closest("li.queue-item");
    if (!item || !ui.queue.contains(item)) return;
    openConversation(item.getAttribute("data-conversation-id"));
  });

  function markOpenInQueue() {
    var items = ui.queue.querySelectorAll("li.queue-item");
    for (var i = 0; i < items.length; i++) {
      var open = items[i].getAttribute("data-conversation-id") === state.openId;
      items[i].classList.toggle("is-open", open);
      var button = items[i].querySelector("button");
      if (button) {
        if (open) button.setAttribute("aria-current", "true");
        else button.removeAttribute("aria-current");
      }
    }
  }

  // --- opening a conversation ---------------------------------------------------

  function isMine(conversation) {
    if (!conversation || conversation.owner !== "agent") return false;
    if (state.me && conversation.agent) return conversation.agent === state.me;
    return Boolean(state.mine[conversation.id]);
  }

  function saveDraft() {
    if (state.openId) {
      if (ui.text.value) state.drafts[state.openId] = ui.text.value;
      else delete state.drafts[state.openId];
    }
  }

  function openConversation(id) {
    if (!id) return;
    if (id !== state.openId) {
      saveDraft();
      state.openId = id;
      state.detail = null;
      state.rendered = [];
      state.lastDay = null;
      ui.text.value = state.drafts[id] || "";
      try {
        history.replaceState(null, "", "#c=" + enc(id));
      } catch (e) {
        /* the address stays as it was */
      }
      renderLoading();
    }
    markOpenInQueue();
    return loadConversation();
  }

  function resetConversation() {
    state.openId = null;
    state.detail = null;
    state.rendered = [];
    try {
      history.replaceState(null, "", window.location.pathname + window.location.search);
    } catch (e) {
      /* nothing to tidy */
    }
    markOpenInQueue();
    renderAll();
  }

  var loadConversation = coalesce(function () {
    var id = state.openId;
    if (!id) return undefined;
    return D.api("GET", "/desk/api/conversations/" + enc(id)).then(
      function (data) {
        if (id !== state.openId || !data) return;
        state.detail = data;
        renderAll();
        if (state.focusReply) {
          state.focusReply = false;
          if (!ui.text.disabled) ui.text.focus();
        }
      },
      function (error) {
        if (id !== state.openId) return;
        showError(error);
        if (error.status === 404 || error.status === 403) resetConversation();
      }
    );
  });

  // --- rendering the conversation -------------------------------------------------

  function renderLoading() {
    ui.title.removeAttribute("data-i18n");
    ui.title.textContent = t("loading");
    D.clear(ui.meta);
    ui.take.hidden = ui.handback.hidden = ui.close.hidden = true;
    ui.empty.hidden = true;
    ui.transcript.setAttribute("aria-live", "off");
    D.clear(ui.transcript);
    ui.form.hidden = true;
    ui.jump.hidden = true;
    D.clear(ui.accountBody);
    ui.accountBody.appendChild(el("p", "empty-note", t("loading")));
    renderOffers();
    ui.history.hidden = true;
  }

  function renderAll(keepScroll) {
    var atBottom = nearBottom();
    renderHeader();
    renderReply(); // first: the reply box's height decides where the bottom is
    renderAccount();
    renderOffers();
    renderHistory();
    renderTranscript(Boolean(keepScroll), atBottom);
  }

  function renderHeader() {
    var d = state.detail;
    if (!d) {
      if (state.openId) return; // still loading
      ui.title.setAttribute("data-i18n", "noConversationTitle");
      ui.title.textContent = t("noConversationTitle");
      D.clear(ui.meta);
      ui.take.hidden = ui.handback.hidden = ui.close.hidden = true;
      return;
    }
    var c = d.conversation;
    var mine = isMine(c);
    ui.title.removeAttribute("data-i18n");
    ui.title.textContent = c.cardholder || t("unverifiedCardholder");
    ui.title.classList.toggle("is-unverified", !c.cardholder);

    D.clear(ui.meta);
    var ownerText = mine ? t("ownerMine")
      : c.owner === "agent" && c.agent ? t("withAgent", { name: c.agent })
      : D.label("owner_", c.owner);
    ui.meta.appendChild(el("span", "chip chip--owner owner--" + (mine ? "mine" : c.owner), ownerText));
    var pclass = priorityClass(c.priority);
    if (pclass !== "normal") ui.meta.appendChild(el("span", "badge badge--" + pclass, t("priority_" + pclass)));
    if (c.reason) ui.meta.appendChild(el("span", "chip chip--reason", D.reasonLabel(c.reason)));
    ui.meta.appendChild(channelChip(c.channel));
    ui.meta.appendChild(languageChip(c.language));
    if (c.card_last4) ui.meta.appendChild(el("span", "chip chip--card", D.maskCard(c.card_last4)));
    if (c.owner === "waiting" && c.waiting_since) {
      var wait = el("span", "chip chip--wait");
      wait.appendChild(waitNode(c.waiting_since, "conv-wait"));
      ui.meta.appendChild(wait);
    }
    var idChip = el("span", "conv-id", c.id);
    idChip.title = t("conversationId", { id: c.id });
    ui.meta.appendChild(idChip);

    var takeKey = c.owner === "agent" ? "takeOver" : "take";
    ui.take.setAttribute("data-i18n", takeKey);
    ui.take.textContent = t(takeKey);
    var hadFocus = document.activeElement;
    ui.take.hidden = c.owner === "closed" || mine;
    ui.handback.hidden = !mine;
    ui.close.hidden = !mine;
    if (hadFocus && hadFocus.hidden) {
      (mine && !ui.text.disabled ? ui.text : ui.pane).focus();
    }
  }

  function nearBottom() {
    return ui.pane.scrollHeight - ui.pane.scrollTop - ui.pane.clientHeight < 80;
  }

  function scrollToBottom() {
    ui.pane.scrollTop = ui.pane.scrollHeight;
    ui.jump.hidden = true;
  }

  function messageNode(message) {
    var kind = authorKind(message.author);
    var li = el("li", "msg msg--" + kind);
    li.setAttribute("data-message-id", message.id);
    if (kind === "agent" && state.me && message.author === "agent:" + state.me) li.classList.add("msg--self");
    var head = el("div", "msg-head");
    head.appendChild(el("span", "msg-author", authorLabel(message.author)));
    var time = el("time", "msg-time", D.formatHM(message.at));
    time.setAttribute("datetime", message.at || "");
    time.title = D.formatFullTime(message.at);
    head.appendChild(time);
    li.appendChild(head);
    if (message.text) li.appendChild(el("div", "msg-bubble", message.text));
    if (message.buttons && message.buttons.length) {
      var chips = el("ul", "msg-buttons");
      chips.setAttribute("aria-label", t("buttonsShown"));
      message.buttons.forEach(function (button) {
        var chip = el("li", "msg-button", button.title);
        if (button.payload) chip.title = button.payload;
        chips.appendChild(chip);
      });
      li.appendChild(chips);
    }
    var delivery = state.deliveries[message.id];
    if (delivery) li.appendChild(deliveryNode(delivery));
    return li;
  }

  function deliveryNode(delivery) {
    var bad = delivery === "sms_failed" || delivery === "sms_suppressed";
    return el("p", "msg-delivery" + (bad ? " is-problem" : ""), D.label("delivery_", delivery));
  }

  function appendMessage(message) {
    var key = D.dayKey(message.at);
    if (key && key !== state.lastDay) {
      state.lastDay = key;
      var sep = el("li", "day-sep");
      sep.appendChild(el("span", null, D.dayLabel(message.at)));
      ui.transcript.appendChild(sep);
    }
    ui.transcript.appendChild(messageNode(message));
    state.rendered.push(message.id);
  }

  /* The messages to append when everything not yet on screen comes after the
   * last message on screen (the server sends the latest window of the
   * transcript, so older ones may have left it); null when the page must be
   * redrawn. */
  function newAtEnd(items) {
    if (!state.rendered.length) return null;
    var last = state.rendered[state.rendered.length - 1];
    var at = -1;
    for (var i = items.length - 1; i >= 0; i--) {
      if (items[i].id === last) {
        at = i;
        break;
      }
    }
    if (at < 0) return null;
    var shown = {};
    state.rendered.forEach(function (id) { shown[id] = true; });
    for (var j = 0; j < at; j++) {
      if (!shown[items[j].id]) return null; // something new in the middle: redraw
    }
    return items.slice(at + 1).filter(function (m) { return !shown[m.id]; });
  }

  function renderTranscript(keepScroll, atBottom) {
    var d = state.detail;
    if (!d) {
      ui.empty.hidden = Boolean(state.openId);
      D.clear(ui.transcript);
      state.rendered = [];
      ui.jump.hidden = true;
      return;
    }
    ui.empty.hidden = true;
    ui.transcript.lang = d.conversation.language === "zh" ? "zh-CN" : "en";
    var items = d.transcript || [];
    var wasAtBottom = atBottom === undefined ? nearBottom() : atBottom;
    var added = keepScroll ? null : newAtEnd(items);
    if (added) {
      added.forEach(appendMessage);
      if (added.length) {
        if (wasAtBottom) scrollToBottom();
        else ui.jump.hidden = false;
      }
      return;
    }
    // A new conversation (or a changed history): draw it all, quietly.
    var top = ui.pane.scrollTop;
    ui.transcript.setAttribute("aria-live", "off");
    D.clear(ui.transcript);
    state.rendered = [];
    state.lastDay = null;
    items.forEach(appendMessage);
    if (!items.length) ui.transcript.appendChild(el("li", "transcript-empty", t("emptyTranscript")));
    if (keepScroll) ui.pane.scrollTop = top;
    else scrollToBottom();
    setTimeout(function () { ui.transcript.setAttribute("aria-live", "polite"); }, 300);
  }

  ui.pane.addEventListener("scroll", function () {
    if (!ui.jump.hidden && nearBottom()) ui.jump.hidden = true;
  });
  ui.jump.addEventListener("click", function () {
    scrollToBottom();
    ui.pane.focus();
  });

  // --- reply ----------------------------------------------------------------------

  function chars(text) {
    return Array.from(text).length;
  }

  function canReply() {
    return Boolean(state.detail && state.detail.can_reply);
  }

  function renderReply() {
    var d = state.detail;
    ui.form.hidden = !d;
    if (!d) return;
    var c = d.conversation;
    var allowed = canReply();
    ui.text.disabled = !allowed;
    var note = null;
    if (!allowed) {
      note = d.reply_note || (c.owner === "closed" ? t("closedNoReply") : isMine(c) ? null : t("takeToReply"));
    }
    ui.note.hidden = !note;
    ui.note.textContent = note || "";
    ui.form.classList.toggle("is-disabled", !allowed);
    updateCounter();
  }

  function updateCounter() {
    var n = chars(ui.text.value);
    ui.counter.textContent = n + " / " + MAX_CHARS;
    ui.counter.classList.toggle("is-near", n >= NEAR_LIMIT && n <= MAX_CHARS);
    ui.counter.classList.toggle("is-over", n > MAX_CHARS);
    ui.text.setAttribute("aria-invalid", String(n > MAX_CHARS));
    ui.send.disabled = state.sending || !canReply() || !ui.text.value.trim() || n > MAX_CHARS;
  }

  function sendReply() {
    if (state.sending || !canReply()) return;
    var text = ui.text.value.trim();
    if (!text) return;
    if (chars(text) > MAX_CHARS) {
      showStatus(t("replyTooLong"), "error");
      return;
    }
    var id = state.openId;
    var typed = ui.text.value;
    state.sending = true;
    ui.send.textContent = t("sending");
    updateCounter();
    D.api("POST", "/desk/api/conversations/" + enc(id) + "/reply", { text: text })
      .then(function (data) {
        var message = data && data.message;
        if (message && data.delivery) state.deliveries[message.id] = data.delivery;
        if (id === state.openId) {
          if (ui.text.value === typed) ui.text.value = "";
          delete state.drafts[id];
          if (message && state.rendered.indexOf(message.id) < 0) {
            var empty = ui.transcript.querySelector(".transcript-empty");
            if (empty) empty.parentNode.removeChild(empty);
            appendMessage(message);
            scrollToBottom();
          }
        } else {
          delete state.drafts[id];
        }
        if (data && data.delivery === "sms_failed") showStatus(t("delivery_sms_failed"), "error");
        else if (data && data.delivery === "sms_suppressed") showStatus(t("delivery_sms_suppressed"), "warning");
        loadConversation();
      }, function (error) {
        showError(error);
        if (error.status === 409) {
          loadConversation();
          loadQueue();
        }
      })
      .then(function () {
        state.sending = false;
        ui.send.textContent = t("send");
        updateCounter();
      });
  }

  ui.form.addEventListener("submit", function (event) {
    event.preventDefault();
    sendReply();
  });
  ui.text.addEventListener("keydown", function (event) {
    if (event.key !== "Enter" || event.shiftKey || event.altKey) return;
    if (event.isComposing || event.keyCode === 229) return; // an IME (拼音) is choosing
    event.preventDefault();
    sendReply();
  });
  ui.text.addEventListener("input", updateCounter);

  // --- take, hand back, close -------------------------------------------------------

  function conversationAction(button, action, done) {
    var id = state.openId;
    if (!id || state.busy) return;
    state.busy = true;
    button.disabled = true;
    D.api("POST", "/desk/api/conversations/" + enc(id) + "/" + action, {})
      .then(function (data) {
        var c = data && data.conversation;
        if (c && id === state.openId && state.detail) state.detail.conversation = c;
        done(c);
        if (id === state.openId) renderAll();
        return Promise.all([loadConversation(), loadQueue()]);
      }, function (error) {
        showError(error);
        loadConversation();
        loadQueue();
      })
      .then(function () {
        state.busy = false;
        button.disabled = false;
      });
  }

  ui.take.addEventListener("click", function () {
    conversationAction(ui.take, "take", function (c) {
      if (c) {
        state.mine[c.id] = true;
        if (c.agent) state.me = c.agent;
      }
      showStatus(t("taken"), "success");
      state.focusReply = true; // once the conversation is read again with can_reply
    });
  });
  ui.handback.addEventListener("click", function () {
    conversationAction(ui.handback, "handback", function (c) {
      if (c) delete state.mine[c.id];
      showStatus(t("handedBack"), "success");
    });
  });
  ui.close.addEventListener("click", function () {
    conversationAction(ui.close, "close", function (c) {
      if (c) delete state.mine[c.id];
      showStatus(t("closedDone"), "success");
    });
  });

  // --- account ------------------------------------------------------------------------

  function figure(list, label, value, className) {
    var item = el("div", "figure" + (className ? " " + className : ""));
    item.appendChild(el("dt", null, label));
    var dd = el("dd", null);
    if (value && value.nodeType) dd.appendChild(value);
    else dd.textContent = value;
    item.appendChild(dd);
    list.appendChild(item);
  }

  function renderAccount() {
    D.clear(ui.accountBody);
    var d = state.detail;
    if (!d) {
      ui.accountBody.appendChild(el("p", "empty-note", t(state.openId ? "loading" : "accountNone")));
      return;
    }
    var a = d.account;
    if (!a) {
      var notice = el("div", "notice notice--warn");
      notice.appendChild(el("p", "notice-title", t("notVerified")));
      notice.appendChild(el("p", "notice-text", t("notVerifiedHint")));
      ui.accountBody.appendChild(notice);
      return;
    }
    var head = el("div", "acct-head");
    head.appendChild(el("p", "acct-name", a.cardholder));
    var ids = el("p", "acct-ids");
    ids.appendChild(el("span", "acct-card", D.maskCard(a.card_last4)));
    if (a.phone) {
      var phone = el("span", "acct-phone", a.phone);
      phone.title = t("phone");
      ids.appendChild(phone);
    }
    var juris = el("span", "acct-juris", a.jurisdiction);
    juris.title = D.label("juris_", a.jurisdiction);
    ids.appendChild(juris);
    head.appendChild(ids);
    ui.accountBody.appendChild(head);

    var balance = el("div", "acct-balance");
    balance.appendChild(el("p", "acct-balance-label", t("balance")));
    balance.appendChild(el("p", "acct-balance-value", D.formatMoney(a.balance, a.currency)));
    ui.accountBody.appendChild(balance);

    var list = el("dl", "figures");
    figure(list, t("minimumDue"), D.formatMoney(a.minimum_due, a.currency));
    figure(list, t("dueDate"), D.formatDate(a.due_date));
    figure(list, t("daysPastDue"), String(a.days_past_due === null || a.days_past_due === undefined ? "—" : a.days_past_due),
      a.days_past_due > 0 ? "is-overdue" : "");
    var bucket = el("span", "chip chip--bucket bucket--" + a.bucket, D.label("bucket_", a.bucket));
    figure(list, t("bucket"), bucket);
    figure(list, t("jurisdiction"), D.label("juris_", a.jurisdiction));
    figure(list, t("card"), D.maskCard(a.card_last4));
    ui.accountBody.appendChild(list);

    if (a.flags && a.flags.length) {
      var flags = el("div", "acct-flags");
      flags.appendChild(el("p", "acct-flags-label", t("flags")));
      var ul = el("ul", "flag-list");
      a.flags.forEach(function (flag) {
        ul.appendChild(el("li", "flag", D.label("flag_", flag)));
      });
      flags.appendChild(ul);
      ui.accountBody.appendChild(flags);
    }
  }

  function table(headers, rows, classes) {
    var tbl = el("table", "mini-table");
    var thead = el("thead");
    var tr = el("tr");
    headers.forEach(function (h) {
      var th = el("th", null, h);
      th.scope = "col";
      tr.appendChild(th);
    });
    thead.appendChild(tr);
    tbl.appendChild(thead);
    var tbody = el("tbody");
    rows.forEach(function (row) {
      var r = el("tr");
      row.forEach(function (cell, i) {
        var td = el("td", classes && classes[i]);
        if (cell && cell.nodeType) td.appendChild(cell);
        else td.textContent = cell;
        r.appendChild(td);
      });
      tbody.appendChild(r);
    });
    tbl.appendChild(tbody);
    return tbl;
  }

  function statusChip(prefix, status) {
    return el("span", "status status--" + status, D.label(prefix, status));
  }

  function renderHistory() {
    var panel = ui.history;
    D.clear(panel);
    var a = state.detail && state.detail.account;
    if (!a) {
      panel.hidden = true;
      return;
    }
    panel.hidden = false;

    panel.appendChild(el("h2", "panel-title", t("promisesHeading")));
    if (a.promises && a.promises.length) {
      panel.appendChild(table(
        [t("amount"), t("payOn"), t("status"), t("madeBy")],
        a.promises.map(function (p) {
          return [D.formatMoney(p.amount, a.currency), D.formatDate(p.pay_on), statusChip("promise_", p.status), whoLabel(p.made_by)];
        }),
        ["money", "date"]
      ));
    } else {
      panel.appendChild(el("p", "empty-note", t("none")));
    }

    panel.appendChild(el("h2", "panel-title", t("plansHeading")));
    if (a.plans && a.plans.length) {
      panel.appendChild(table(
        [t("type"), t("principal"), t("term"), t("status")],
        a.plans.map(function (p) {
          return [D.label("source_", p.source), D.formatMoney(p.principal, a.currency),
            t("remainingOf", { remaining: p.remaining, months: p.months }), statusChip("plan_", p.status)];
        }),
        [null, "money"]
      ));
    } else {
      panel.appendChild(el("p", "empty-note", t("none")));
    }

    var pending = {};
    (state.detail.offers_pending || []).forEach(function (o) { pending[o.id] = true; });
    var past = (a.offers || []).filter(function (o) { return !pending[o.id]; });
    panel.appendChild(el("h2", "panel-title", t("historyHeading")));
    if (!past.length) {
      panel.appendChild(el("p", "empty-note", t("none")));
      return;
    }
    var list = el("ul", "offer-history");
    past.forEach(function (o) {
      var li = el("li", "offer-history-item");
      li.setAttribute("data-history-offer-id", String(o.id));
      var head = el("div", "offer-history-head");
      head.appendChild(el("span", "offer-kind", D.label("kind_", o.kind)));
      head.appendChild(statusChip("offer_", o.status));
      li.appendChild(head);
      var summary = offerSummary(o);
      if (summary) li.appendChild(el("p", "offer-history-summary", summary));
      var when = o.decided_by
        ? t("decidedBy", { who: whoLabel(o.decided_by), when: D.formatTime(o.decided_at) })
        : t("proposedBy", { who: whoLabel(o.made_by), when: D.formatTime(o.created_at) });
      li.appendChild(el("p", "offer-meta", when));
      list.appendChild(li);
    });
    panel.appendChild(list);
  }

  // --- offers --------------------------------------------------------------------------

  function whyNot(offer) {
    if (offer.decide_note) return offer.decide_note;
    if (offer.authority_required === "supervisor" && D.role() !== "supervisor") return t("cannotDecideSupervisor");
    var c = state.detail && state.detail.conversation;
    if (c && !isMine(c) && D.role() !== "supervisor") return t("cannotDecideTake");
    return t("cannotDecide");
  }

  // Flags under which the server approves nothing (refusing still works).
  var NO_APPROVAL_FLAGS = ["attorney_represented", "bankruptcy", "deceased"];

  function blockingFlags() {
    var a = state.detail && state.detail.account;
    return ((a && a.flags) || []).filter(function (f) { return NO_APPROVAL_FLAGS.indexOf(f) >= 0; });
  }

  function offerNode(offer) {
    var li = el("li", "offer offer--" + offer.authority_required);
    li.setAttribute("data-offer-id", String(offer.id));
    var head = el("div", "offer-head");
    head.appendChild(el("span", "offer-kind", D.label("kind_", offer.kind)));
    head.appendChild(el("span", "badge badge--authority-" + offer.authority_required, D.label("authority_", offer.authority_required)));
    li.appendChild(head);

    var summary = offerSummary(offer);
    if (summary) li.appendChild(el("p", "offer-summary", summary));
    if (offer.case_summary) {
      var box = el("div", "offer-case");
      box.appendChild(el("p", "offer-case-label", t("caseSummary")));
      box.appendChild(el("p", "offer-case-text", offer.case_summary));
      li.appendChild(box);
    }
    var meta = t("proposedBy", { who: whoLabel(offer.made_by), when: D.formatTime(offer.created_at) });
    if (offer.policy_version) meta += " · " + t("policyVersion", { version: offer.policy_version });
    li.appendChild(el("p", "offer-meta", meta));

    var actions = el("div", "offer-actions");
    var approve = el("button", "btn btn-primary btn-small offer-approve", t("approve"));
    var refuse = el("button", "btn btn-secondary btn-small offer-refuse", t("refuse"));
    approve.type = refuse.type = "button";
    actions.appendChild(approve);
    actions.appendChild(refuse);
    li.appendChild(actions);
    if (!offer.can_decide) {
      approve.disabled = refuse.disabled = true;
      var why = el("p", "offer-why", whyNot(offer));
      why.id = "offer-why-" + offer.id;
      approve.setAttribute("aria-describedby", why.id);
      refuse.setAttribute("aria-describedby", why.id);
      li.appendChild(why);
    } else {
      var blocking = blockingFlags();
      if (blocking.length) {
        approve.disabled = true;
        var blocked = el("p", "offer-why", t("flagsBlockApproval", {
          flags: blocking.map(function (f) { return D.label("flag_", f); }).join(", "),
        }));
        blocked.id = "offer-why-" + offer.id;
        approve.setAttribute("aria-describedby", blocked.id);
        li.appendChild(blocked);
      } else {
        approve.addEventListener("click", function () { askDecision(offer, "approve", approve); });
      }
      refuse.addEventListener("click", function () { askDecision(offer, "refuse", refuse); });
    }
    return li;
  }

  function renderOffers() {
    D.clear(ui.offers);
    var list = (state.detail && state.detail.offers_pending) || [];
    list.forEach(function (offer) { ui.offers.appendChild(offerNode(offer)); });
    ui.offersEmpty.hidden = list.length > 0;
    ui.offersCount.hidden = list.length === 0;
    ui.offersCount.textContent = String(list.length);
  }

  // --- confirm dialog -------------------------------------------------------------------

  function askDecision(offer, action, opener) {
    state.decision = { offer: offer, action: action, opener: opener, conversationId: state.openId };
    ui.confirmTitle.textContent = t(action === "approve" ? "confirmApproveTitle" : "confirmRefuseTitle");
    D.clear(ui.confirmOffer);
    ui.confirmOffer.appendChild(el("p", "confirm-kind", D.label("kind_", offer.kind) + " · " + D.label("authority_", offer.authority_required)));
    var summary = offerSummary(offer);
    if (summary) ui.confirmOffer.appendChild(el("p", "confirm-summary", summary));
    ui.confirmNote.value = "";
    ui.confirmYes.textContent = t(action);
    ui.confirmYes.className = "btn " + (action === "approve" ? "btn-primary" : "btn-danger");
    ui.confirmYes.disabled = false;
    if (typeof ui.dialog.showModal === "function") ui.dialog.showModal();
    else ui.dialog.setAttribute("open", "");
    ui.confirmNote.focus();
  }

  function closeDialog() {
    if (ui.dialog.open) {
      if (typeof ui.dialog.close === "function") ui.dialog.close();
      else ui.dialog.removeAttribute("open");
    }
  }

  ui.dialog.addEventListener("close", function () {
    var decision = state.decision;
    state.decision = null;
    if (!decision) return;
    // Back to the button that opened the dialog (or its redrawn twin).
    var target = decision.opener;
    if (!target || !document.body.contains(target)) {
      target = ui.offers.querySelector('li.offer[data-offer-id="' + decision.offer.id + '"] .offer-' + decision.action) ||
        ui.offers.querySelector("button:not(:disabled)") || ui.pane;
    }
    if (target && target.focus) target.focus();
  });

  ui.confirmNo.addEventListener("click", closeDialog);

  ui.confirmYes.addEventListener("click", function () {
    var decision = state.decision;
    if (!decision || ui.confirmYes.disabled) return;
    ui.confirmYes.disabled = true;
    var note = ui.confirmNote.value.trim();
    var body = note ? { note: note } : {};
    D.api("POST", "/desk/api/offers/" + enc(decision.offer.id) + "/" + decision.action, body)
      .then(function () {
        closeDialog();
        showStatus(t(decision.action === "approve" ? "approvedDone" : "refusedDone"), "success");
      }, function (error) {
        closeDialog();
        showError(error);
      })
      .then(function () {
        ui.confirmYes.disabled = false;
        loadConversation();
        loadQueue();
      });
  });

  // --- live updates ---------------------------------------------------------------------

  function setConnection(name) {
    ui.conn.setAttribute("data-state", name);
    ui.connText.setAttribute("data-i18n", name);
    ui.connText.textContent = t(name);
  }

  function refreshAll() {
    loadQueue();
    if (state.openId) loadConversation();
  }

  D.listen(
    {
      queue: function () { loadQueue(); },
      conversation: function (data) {
        if (data && data.id && data.id === state.openId) loadConversation();
      },
    },
    function (name, reconnected) {
      setConnection(name);
      if (reconnected) refreshAll(); // signals may have been missed while away
    }
  );

  setInterval(refreshAll, SAFETY_REFRESH_MS);
  setInterval(tick, 1000);
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") refreshAll();
  });

  D.onLanguage(function () {
    renderQueue();
    if (state.detail) renderAll(true);
    else if (state.openId) renderLoading();
    else renderAll();
    if (ui.dialog.open && state.decision) {
      var d = state.decision;
      ui.confirmTitle.textContent = t(d.action === "approve" ? "confirmApproveTitle" : "confirmRefuseTitle");
      ui.confirmYes.textContent = t(d.action);
    }
    if (!state.sending) ui.send.textContent = t("send");
  });

  // --- start ------------------------------------------------------------------------------

  // Who I am, to tell my conversations from others' (the queue's "mine" is
  // the fallback while this is unknown).
  D.api("GET", "/desk/api/me").then(function (me) {
    if (me && me.username) {
      state.me = me.username;
      if (state.detail) renderAll(true);
    }
  }, function () { /* optional: the queue tells as well */ });

  var match = /^#c=(.+)$/.exec(window.location.hash || "");
  var first = loadQueue();
  if (match) {
    var id = null;
    try {
      id = decodeURIComponent(match[1]);
    } catch (e) {
      id = null;
    }
    if (id) openConversation(id);
  } else {
    renderAll();
  }
  first.then(function () {
    if (!state.openId) ui.queue.setAttribute("aria-busy", "false");
  });
})();
