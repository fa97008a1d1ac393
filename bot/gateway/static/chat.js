/* Web chat for cardholders.
 *
 * Talks to the gateway only: POST /api/chat sends a message; replies are read
 * from GET /api/chat/{id}/messages?after=<cursor>, which also returns replies
 * given later (a message saved while the assistant was unavailable, or a
 * person who has taken over), so the page polls it while a reply is owed.
 * Messages are sent one at a time, in order. Nothing is loaded from elsewhere.
 */
(function () {
  "use strict";

  var MAX_CHARS = 2000;
  var NEAR_LIMIT = 1800;
  var POLL_PENDING_MS = 3000;
  var POLL_HANDED_OFF_MS = 5000;
  var REQUEST_TIMEOUT_MS = 25000;
  // A message the server may not have received is sent again by itself, with
  // the same id (the server answers a repeat without a second turn).
  var RETRY_DELAYS_MS = [1000, 2000, 4000, 8000];
  var TRANSCRIPT_LIMIT = 200;
  var KEYS = {
    id: "harbor.chat.conversation",
    cursor: "harbor.chat.cursor",
    lang: "harbor.chat.language",
    transcript: "harbor.chat.transcript",
  };

  var body = document.body;
  var BANK = { en: body.dataset.bankEn || "", zh: body.dataset.bankZh || "" };

  var STRINGS = {
    en: {
      htmlLang: "en",
      title: BANK.en + " · Card services",
      bankName: BANK.en,
      subtitle: "Card services assistant",
      privacy:
        "For your security, never share your full card number, PIN or passwords in this chat.",
      welcome:
        "Hello! I'm the " + BANK.en + " card assistant. I can help with your balance, " +
        "payments and instalment plans, or put you through to a person.",
      suggestions: [
        "How much do I owe?",
        "When is my payment due?",
        "Can I split my bill into monthly payments?",
        "Talk to a person",
      ],
      placeholder: "Type your message…",
      inputLabel: "Your message",
      send: "Send message",
      hint: "Enter to send · Shift+Enter for a new line",
      typing: "The assistant is typing…",
      newChat: "Start a new conversation",
      confirmNew: "Start a new conversation? The messages on this screen will be cleared.",
      conversationLabel: "Conversation",
      dismiss: "Dismiss",
      handedOff: "A member of our team will reply here.",
      you: "You",
      assistant: "Assistant",
      agent: "Customer service",
      notice: "Notice",
      tooLong: "Your message is too long. Please keep it to 2,000 characters or fewer.",
      charsLeft: function (n) { return n + " characters left"; },
      charsOver: function (n) { return n + " characters over the limit"; },
      notSent: "Not sent.",
      retry: "Try again",
      offline: "You seem to be offline. Check your connection, then try again.",
      unreachable: "We couldn't reach our service. Please try again in a moment.",
      rejected: function (reason) { return "This message couldn't be sent: " + reason; },
    },
    zh: {
      htmlLang: "zh-CN",
      title: BANK.zh + " · 信用卡服务",
      bankName: BANK.zh,
      subtitle: "信用卡服务助手",
      privacy: "为了您的资金安全,请勿在对话中透露完整卡号、密码或验证码。",
      welcome:
        "您好!我是" + BANK.zh + "信用卡助手,可以帮您查询欠款和还款日、办理分期," +
        "也可以为您转接人工客服。",
      suggestions: ["我还欠多少钱", "还款日是哪天", "账单能分期吗", "转人工"],
      placeholder: "请输入您的问题…",
      inputLabel: "您的消息",
      send: "发送",
      hint: "按 Enter 发送,Shift+Enter 换行",
      typing: "助手正在输入…",
      newChat: "开始新的对话",
      confirmNew: "要开始新的对话吗?当前页面上的消息将被清除。",
      conversationLabel: "对话内容",
      dismiss: "关闭",
      handedOff: "客服人员会在这里回复您。",
      you: "您",
      assistant: "助手",
      agent: "人工客服",
      notice: "提示",
      tooLong: "消息过长,请控制在 2000 字以内。",
      charsLeft: function (n) { return "还可输入 " + n + " 字"; },
      charsOver: function (n) { return "已超出 " + n + " 字"; },
      notSent: "未发送。",
      retry: "重试",
      offline: "网络似乎已断开,请检查网络后重试。",
      unreachable: "暂时无法连接我们的服务,请稍后再试。",
      rejected: function (reason) { return "消息未能发送:" + reason; },
    },
  };

  // --- storage that survives private browsing (where it may throw) ----------

  function store(kind) {
    var memory = {};
    var backend = null;
    try {
      backend = window[kind];
      backend.setItem("harbor.chat.probe", "1");
      backend.removeItem("harbor.chat.probe");
    } catch (e) {
      backend = null;
    }
    return {
      get: function (key) {
        try {
          return backend ? backend.getItem(key) : (memory[key] || null);
        } catch (e) {
          return memory[key] || null;
        }
      },
      set: function (key, value) {
        memory[key] = value;
        try {
          if (backend) backend.setItem(key, value);
        } catch (e) {
          /* quota or privacy mode: the in-memory copy still works */
        }
      },
      remove: function (key) {
        delete memory[key];
        try {
          if (backend) backend.removeItem(key);
        } catch (e) {
          /* nothing stored, nothing to remove */
        }
      },
    };
  }

  var local = store("localStorage");
  // The transcript stays in this tab only: a shared phone should not keep it.
  var session = store("sessionStorage");

  function randomHex(size) {
    var bytes = new Uint8Array(size);
    window.crypto.getRandomValues(bytes);
    var hex = "";
    for (var i = 0; i < bytes.length; i++) hex += ("0" + bytes[i].toString(16)).slice(-2);
    return hex;
  }

  function newConversationId() {
    return "web-" + randomHex(16);
  }

  function initialLanguage() {
    var saved = local.get(KEYS.lang);
    if (saved === "en" || saved === "zh") return saved;
    var preferred = (navigator.languages && navigator.languages[0]) || navigator.language || "";
    return /^zh\b/i.test(preferred) ? "zh" : "en";
  }

  function loadTranscript() {
    try {
      var items = JSON.parse(session.get(KEYS.transcript) || "[]");
      return Array.isArray(items) ? items : [];
    } catch (e) {
      return [];
    }
  }

  // --- state ----------------------------------------------------------------

  var state = {
    lang: initialLanguage(),
    conversationId: local.get(KEYS.id) || newConversationId(),
    cursor: parseInt(local.get(KEYS.cursor) || "0", 10) || 0,
    transcript: loadTranscript(),
    pending: false,
    handedOff: false,
    inFlight: 0,
    skip: [],
    pollTimer: null,
    queue: Promise.resolve(),
    syncing: Promise.resolve(),
  };
  local.set(KEYS.id, state.conversationId);

  function t() {
    return STRINGS[state.lang];
  }

  // --- elements -------------------------------------------------------------

  var $ = function (id) { return document.getElementById(id); };
  var list = $("messages");
  var scroller = $("conversation");
  var typing = $("typing");
  var form = $("composer");
  var input = $("input");
  var sendButton = $("send");
  var counter = $("counter");
  var announcer = $("counter-announcer");
  var banner = $("banner");
  var bannerText = $("banner-text");
  var handoffStatus = $("handoff-status");
  var reducedMotion = window.matchMedia("(prefers-reduced-motion: reduce)");

  function chars(text) {
    return Array.from(text).length; // code points, as the server counts them
  }

  function scrollToEnd() {
    scroller.scrollTo({
      top: scroller.scrollHeight,
      behavior: reducedMotion.matches ? "auto" : "smooth",
    });
  }

  // --- rendering --------------------------------------------------------------

  function senderLabel(kind) {
    var s = t();
    return { user: s.you, bot: s.assistant, agent: s.agent, system: s.notice }[kind] || s.assistant;
  }

  function kindForAuthor(author) {
    if (author === "system") return "system";
    if (typeof author === "string" && author.indexOf("agent") === 0) return "agent";
    return "bot";
  }

  function retireQuickReplies() {
    var groups = list.querySelectorAll(".quick-replies button:not(:disabled)");
    for (var i = 0; i < groups.length; i++) groups[i].disabled = true;
  }

  function renderQuickReplies(container, buttons, active) {
    var group = document.createElement("div");
    group.className = "quick-replies";
    buttons.forEach(function (button) {
      var el = document.createElement("button");
      el.type = "button";
      el.textContent = button.title;
      el.disabled = !active;
      el.addEventListener("click", function () {
        var all = group.querySelectorAll("button");
        for (var i = 0; i < all.length; i++) all[i].disabled = true;
        el.setAttribute("aria-pressed", "true");
        submit(button.payload, button.title);
      });
      group.appendChild(el);
    });
    container.appendChild(group);
  }

  function renderItem(item, options) {
    var li = document.createElement("li");
    li.className = "msg msg--" + item.kind;
    li.dataset.kind = item.kind;
    var sender = document.createElement("span");
    sender.className = "sender";
    sender.textContent = senderLabel(item.kind);
    li.appendChild(sender);
    if (item.text) {
      var bubble = document.createElement("div");
      bubble.className = "bubble";
      bubble.textContent = item.text;
      if (item.kind === "user") bubble.lang = "";
      li.appendChild(bubble);
    }
    if (item.buttons && item.buttons.length) {
      renderQuickReplies(li, item.buttons, !options || options.active !== false);
    }
    list.appendChild(li);
    return li;
  }

  function remember(item) {
    state.transcript.push(item);
    if (state.transcript.length > TRANSCRIPT_LIMIT) {
      state.transcript.splice(0, state.transcript.length - TRANSCRIPT_LIMIT);
    }
    session.set(KEYS.transcript, JSON.stringify(state.transcript));
  }

  function addItem(item) {
    if (item.buttons && item.buttons.length) retireQuickReplies();
    var li = renderItem(item);
    remember(item);
    scrollToEnd();
    return li;
  }

  /* The greeting and suggestions: always first, never stored, and redrawn in
   * the new language when the switch is used. */
  function welcomeItem() {
    var s = t();
    var li = renderItem(
      {
        kind: "bot",
        text: s.welcome,
        buttons: s.suggestions.map(function (text) { return { title: text, payload: text }; }),
      },
      { active: state.transcript.length === 0 }
    );
    li.dataset.welcome = "true";
    return li;
  }

  function renderAll() {
    list.textContent = "";
    welcomeItem();
    var last = state.transcript.length - 1;
    state.transcript.forEach(function (item, index) {
      renderItem(item, { active: index === last });
    });
    scrollToEnd();
  }

  // --- language -------------------------------------------------------------

  function applyLanguage() {
    var s = t();
    document.documentElement.lang = s.htmlLang;
    document.title = s.title;
    var nodes = document.querySelectorAll("[data-i18n]");
    for (var i = 0; i < nodes.length; i++) nodes[i].textContent = s[nodes[i].dataset.i18n];
    nodes = document.querySelectorAll("[data-i18n-label]");
    for (i = 0; i < nodes.length; i++) {
      nodes[i].setAttribute("aria-label", s[nodes[i].dataset.i18nLabel]);
      if (nodes[i].hasAttribute("title")) nodes[i].title = s[nodes[i].dataset.i18nLabel];
    }
    nodes = document.querySelectorAll("[data-i18n-placeholder]");
    for (i = 0; i < nodes.length; i++) nodes[i].placeholder = s[nodes[i].dataset.i18nPlaceholder];
    var switches = document.querySelectorAll(".lang-switch button");
    for (i = 0; i < switches.length; i++) {
      switches[i].setAttribute("aria-pressed", String(switches[i].dataset.lang === state.lang));
    }
    var items = list.querySelectorAll(".msg");
    for (i = 0; i < items.length; i++) {
      var label = items[i].querySelector(".sender");
      if (label) label.textContent = senderLabel(items[i].dataset.kind);
    }
    var welcome = list.querySelector("[data-welcome]");
    if (welcome) {
      var fresh = welcomeItem(); // appended at the end; move it into place
      list.replaceChild(fresh, welcome);
    }
    updateCounter();
  }

  function setLanguage(lang) {
    if (lang === state.lang || !STRINGS[lang]) return;
    state.lang = lang;
    local.set(KEYS.lang, lang);
    applyLanguage();
  }

  // --- composer -------------------------------------------------------------

  var lastAnnounced = null;

  function updateCounter() {
    var s = t();
    var n = chars(input.value);
    counter.textContent = n + " / " + MAX_CHARS;
    counter.classList.toggle("is-near", n >= NEAR_LIMIT && n <= MAX_CHARS);
    counter.classList.toggle("is-over", n > MAX_CHARS);
    input.setAttribute("aria-invalid", String(n > MAX_CHARS));
    sendButton.disabled = !input.value.trim() || n > MAX_CHARS;
    // Announce only at a few thresholds, not on every keystroke.
    var bucket = n > MAX_CHARS ? "over" : n >= NEAR_LIMIT ? "near" : null;
    if (bucket !== lastAnnounced) {
      lastAnnounced = bucket;
      announcer.textContent =
        bucket === "over" ? s.charsOver(n - MAX_CHARS) :
        bucket === "near" ? s.charsLeft(MAX_CHARS - n) : "";
    }
  }

  function autoGrow() {
    input.style.height = "auto";
    input.style.height = Math.min(input.scrollHeight + 3, 160) + "px";
  }

  function showBanner(message) {
    bannerText.textContent = message;
    banner.hidden = false;
  }

  function hideBanner() {
    banner.hidden = true;
    bannerText.textContent = "";
  }

  function setTyping(on) {
    state.inFlight += on ? 1 : -1;
    typing.hidden = state.inFlight <= 0;
    if (!typing.hidden) scrollToEnd();
  }

  function setHandedOff(value) {
    state.handedOff = Boolean(value);
    handoffStatus.hidden = !state.handedOff;
  }

  // --- talking to the gateway -------------------------------------------------

  function request(url, options) {
    var controller = "AbortController" in window ? new AbortController() : null;
    var timer = controller ? setTimeout(function () { controller.abort(); }, REQUEST_TIMEOUT_MS) : null;
    var init = Object.assign({ credentials: "same-origin", cache: "no-store" }, options || {});
    if (controller) init.signal = controller.signal;
    return fetch(url, init).finally(function () {
      if (timer) clearTimeout(timer);
    });
  }

  function saveCursor(id) {
    if (id > state.cursor) {
      state.cursor = id;
      local.set(KEYS.cursor, String(id));
    }
  }

  function showReplies(messages) {
    messages.forEach(function (message) {
      addItem({
        kind: message.author ? kindForAuthor(message.author) : "bot",
        text: message.text,
        buttons: message.buttons || [],
      });
    });
  }

  /* Fetch every reply after the cursor. `fallback` (the POST's own answer) is
   * shown only if this fails; those texts are then skipped when they arrive. */
  function sync(fallback) {
    // One fetch at a time, so two never read the same cursor.
    state.syncing = state.syncing.then(function () { return fetchReplies(fallback); });
    return state.syncing;
  }

  function fetchReplies(fallback) {
    var conversationId = state.conversationId;
    var url = "/api/chat/" + encodeURIComponent(conversationId) +
      "/messages?after=" + state.cursor;
    return request(url)
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (data) {
        if (conversationId !== state.conversationId) return; // a new chat began
        var fresh = [];
        data.messages.forEach(function (message) {
          if (message.id <= state.cursor) return;
          saveCursor(message.id);
          if (state.skip.length && state.skip[0] === message.text) {
            state.skip.shift();
          } else {
            fresh.push(message);
          }
        });
        showReplies(fresh);
        state.pending = Boolean(data.pending);
        // The desk may have handed the chat back (or closed it) since the last post.
        if (typeof data.handed_off === "boolean") setHandedOff(data.handed_off);
      })
      .catch(function () {
        if (fallback && fallback.length) {
          showReplies(fallback);
          fallback.forEach(function (m) { state.skip.push(m.text); });
        }
      })
      .finally(schedulePoll);
  }

  function schedulePoll() {
    clearTimeout(state.pollTimer);
    state.pollTimer = null;
    if (document.visibilityState === "hidden") return;
    if (!state.pending && !state.handedOff) return;
    state.pollTimer = setTimeout(function () {
      sync(null);
    }, state.pending ? POLL_PENDING_MS : POLL_HANDED_OFF_MS);
  }

  function markFailed(li, text, reason, retryable) {
    li.classList.remove("msg--sending");
    li.classList.add("msg--failed");
    var old = li.querySelector(".delivery");
    if (old) old.remove();
    var line = document.createElement("div");
    line.className = "delivery";
    line.setAttribute("role", "alert");
    var label = document.createElement("span");
    label.textContent = t().notSent + " " + reason;
    line.appendChild(label);
    if (retryable) {
      var retry = document.createElement("button");
      retry.type = "button";
      retry.textContent = t().retry;
      retry.addEventListener("click", function () {
        line.remove();
        li.classList.remove("msg--failed");
        enqueue(li, text);
      });
      line.appendChild(retry);
    }
    li.appendChild(line);
    scrollToEnd();
  }

  function wait(ms) {
    return new Promise(function (resolve) { setTimeout(resolve, ms); });
  }

  /* POST one message; network failures and 5xx answers are tried again with
   * the same client_message_id, so the server never takes it twice. */
  function post(body, attempt) {
    return request("/api/chat", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(body),
    }).then(
      function (response) {
        if (response.status < 500 || attempt >= RETRY_DELAYS_MS.length) return response;
        return wait(RETRY_DELAYS_MS[attempt]).then(function () { return post(body, attempt + 1); });
      },
      function (error) {
        if (attempt >= RETRY_DELAYS_MS.length || navigator.onLine === false) throw error;
        return wait(RETRY_DELAYS_MS[attempt]).then(function () { return post(body, attempt + 1); });
      }
    );
  }

  function deliver(li, text) {
    li.classList.add("msg--sending");
    setTyping(true);
    if (!li.dataset.clientMessageId) li.dataset.clientMessageId = randomHex(12);
    return post({
      conversation_id: state.conversationId,
      text: text,
      language: state.lang,
      client_message_id: li.dataset.clientMessageId,
    }, 0)
      .then(function (response) {
        return response
          .json()
          .catch(function () { return {}; })
          .then(function (data) {
            if (response.ok) {
              li.classList.remove("msg--sending");
              hideBanner();
              setHandedOff(data.handed_off);
              return sync(data.messages || []);
            }
            var s = t();
            if (response.status >= 400 && response.status < 500 && data.error) {
              markFailed(li, text, s.rejected(data.error), false);
            } else {
              markFailed(li, text, s.unreachable, true);
            }
            return null;
          });
      })
      .catch(function () {
        var s = t();
        var reason = navigator.onLine === false ? s.offline : s.unreachable;
        markFailed(li, text, reason, true);
        showBanner(reason);
      })
      .finally(function () {
        setTyping(false);
      });
  }

  function enqueue(li, text) {
    // One message at a time, in order: the server keeps order too, but a
    // second message must not race the first over the network.
    state.queue = state.queue.then(function () { return deliver(li, text); });
  }

  /* Send `text`; show `display` instead when it is a quick reply's payload. */
  function submit(text, display) {
    var trimmed = text.trim();
    if (!trimmed) return false;
    if (chars(trimmed) > MAX_CHARS) {
      showBanner(t().tooLong);
      return false;
    }
    retireQuickReplies();
    var li = addItem({ kind: "user", text: display || trimmed });
    enqueue(li, trimmed);
    return true;
  }

  // --- events -----------------------------------------------------------------

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (submit(input.value)) {
      input.value = "";
      autoGrow();
      updateCounter();
    }
    input.focus();
  });

  input.addEventListener("keydown", function (event) {
    // Enter sends; Shift+Enter is a new line; Enter that confirms a Chinese
    // input method's candidate (isComposing / keyCode 229) must not send.
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
      event.preventDefault();
      if (!sendButton.disabled) form.requestSubmit ? form.requestSubmit() : sendButton.click();
    }
  });

  input.addEventListener("input", function () {
    autoGrow();
    updateCounter();
    if (chars(input.value) <= MAX_CHARS && bannerText.textContent === t().tooLong) hideBanner();
  });

  document.querySelectorAll(".lang-switch button").forEach(function (button) {
    button.addEventListener("click", function () { setLanguage(button.dataset.lang); });
  });

  $("banner-close").addEventListener("click", hideBanner);

  $("new-chat").addEventListener("click", function () {
    if (state.transcript.length && !window.confirm(t().confirmNew)) return;
    state.conversationId = newConversationId();
    state.cursor = 0;
    state.transcript = [];
    state.skip = [];
    state.pending = false;
    local.set(KEYS.id, state.conversationId);
    local.set(KEYS.cursor, "0");
    session.remove(KEYS.transcript);
    setHandedOff(false);
    hideBanner();
    clearTimeout(state.pollTimer);
    renderAll();
    input.focus();
  });

  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") sync(null);
  });

  window.addEventListener("online", function () {
    hideBanner();
    sync(null);
  });

  window.addEventListener("offline", function () {
    showBanner(t().offline);
  });

  // --- start ------------------------------------------------------------------

  applyLanguage();
  renderAll();
  updateCounter();
  sync(null); // replies that arrived while the page was closed
})();
