// Runs in every frame before any page script. Wraps the APIs fingerprinters read and the cookie writers, and
// reports each (what, calling script) pair once through a binding. Values are never reported: a cookie write
// names its cookie, not its value.
(() => {
  const BINDING = "__BINDING__";
  const FONT_SWEEP = 20; // distinct fonts measured by one script: enumeration, not layout
  const NAVIGATOR_SWEEP = 12; // distinct navigator/screen properties read by one script
  const send = (event) => {
    try {
      window[BINDING](JSON.stringify(event));
    } catch (e) {
      // the page replaced the binding: nothing to report to
    }
  };
  const URL_IN_FRAME = /((?:https?|blob):\/\/[^\s()]+?)(?::\d+){1,2}\)?$/;
  const caller = () => {
    const lines = (new Error().stack || "").split("\n").slice(1);
    for (const line of lines) {
      if (line.includes("__scanfleet_instrument__")) continue;
      const found = line.trim().match(URL_IN_FRAME);
      if (found) return found[1];
    }
    return null;
  };
  const seen = new Set();
  const once = (event) => {
    const key = JSON.stringify(event);
    if (seen.has(key)) return;
    seen.add(key);
    send(event);
  };
  const fingerprint = (technique, api, extra) =>
    once({ type: "fingerprinting", technique, api, script: caller(), page: location.href, ...(extra || {}) });

  const wrap = (proto, name, before) => {
    if (!proto) return;
    const original = proto[name];
    if (typeof original !== "function") return;
    Object.defineProperty(proto, name, {
      value: function (...args) {
        try {
          before.call(this, args);
        } catch (e) {
          // instrumentation must never break the page
        }
        return original.apply(this, args);
      },
      writable: true,
      configurable: true,
    });
  };
  const wrapGetter = (proto, name, before) => {
    const descriptor = proto && Object.getOwnPropertyDescriptor(proto, name);
    if (!descriptor || !descriptor.get) return;
    Object.defineProperty(proto, name, {
      ...descriptor,
      get: function () {
        try {
          before.call(this);
        } catch (e) {}
        return descriptor.get.call(this);
      },
    });
  };

  // Canvas: a readout of a canvas with text drawn on it (Englehardt and Narayanan's criterion, simplified).
  const texted = new WeakSet();
  const Context2D = window.CanvasRenderingContext2D && CanvasRenderingContext2D.prototype;
  for (const name of ["fillText", "strokeText"]) {
    wrap(Context2D, name, function () {
      texted.add(this.canvas);
    });
  }
  const readout = (canvas, api) => {
    if (canvas && texted.has(canvas) && canvas.width * canvas.height >= 256) fingerprint("canvas", api);
  };
  wrap(window.HTMLCanvasElement && HTMLCanvasElement.prototype, "toDataURL", function () {
    readout(this, "HTMLCanvasElement.toDataURL");
  });
  wrap(window.HTMLCanvasElement && HTMLCanvasElement.prototype, "toBlob", function () {
    readout(this, "HTMLCanvasElement.toBlob");
  });
  wrap(Context2D, "getImageData", function () {
    readout(this.canvas, "CanvasRenderingContext2D.getImageData");
  });

  // Fonts: measuring text in many fonts is how installed fonts are enumerated.
  const fontsByScript = new Map();
  wrap(Context2D, "measureText", function () {
    const script = caller();
    const fonts = fontsByScript.get(script) || new Set();
    fontsByScript.set(script, fonts);
    fonts.add(this.font);
    if (fonts.size === FONT_SWEEP) fingerprint("font_enumeration", "CanvasRenderingContext2D.measureText");
  });

  // WebGL: the unmasked vendor and renderer name the GPU.
  const UNMASKED = { 37445: "UNMASKED_VENDOR_WEBGL", 37446: "UNMASKED_RENDERER_WEBGL" };
  for (const gl of [window.WebGLRenderingContext, window.WebGL2RenderingContext]) {
    wrap(gl && gl.prototype, "getParameter", function (args) {
      if (UNMASKED[args[0]]) fingerprint("webgl", `${gl.name}.getParameter(${UNMASKED[args[0]]})`);
    });
  }

  // Audio: rendering a signal offline, or reading its spectrum, yields a per-device fingerprint.
  wrap(window.OfflineAudioContext && OfflineAudioContext.prototype, "startRendering", function () {
    fingerprint("audio", "OfflineAudioContext.startRendering");
  });
  wrap(window.AnalyserNode && AnalyserNode.prototype, "getFloatFrequencyData", function () {
    fingerprint("audio", "AnalyserNode.getFloatFrequencyData");
  });

  // Navigator and screen sweeps: one script reading many device properties.
  const propertiesByScript = new Map();
  const sweep = (owner, property) =>
    function () {
      const script = caller();
      const read = propertiesByScript.get(script) || new Set();
      propertiesByScript.set(script, read);
      read.add(`${owner}.${property}`);
      if (read.size === NAVIGATOR_SWEEP) {
        fingerprint("navigator_sweep", "navigator and screen properties", { properties: [...read].sort() });
      }
    };
  const NAVIGATOR = [
    "userAgent", "platform", "language", "languages", "hardwareConcurrency", "deviceMemory", "plugins",
    "mimeTypes", "doNotTrack", "maxTouchPoints", "vendor", "cookieEnabled", "webdriver", "appVersion",
    "oscpu", "product", "productSub", "vendorSub", "connection", "pdfViewerEnabled",
  ];
  for (const property of NAVIGATOR) {
    wrapGetter(window.Navigator && Navigator.prototype, property, sweep("navigator", property));
  }
  for (const property of ["width", "height", "availWidth", "availHeight", "colorDepth", "pixelDepth"]) {
    wrapGetter(window.Screen && Screen.prototype, property, sweep("screen", property));
  }

  // Session recorders (rrweb, Hotjar, Clarity, FullStory and the like) all do three things from one script: watch
  // every change to the whole document, and listen to the visitor's pointer and keys page-wide. Top frame only: a
  // frame of another site watching its own document is not recording this page.
  if (window === window.top) {
    const POINTER = new Set(["mousemove", "pointermove", "touchmove"]);
    const KEYS = new Set(["input", "change", "keydown", "keyup", "keypress"]);
    const recorders = new Map(); // script → {document: bool, listeners: Set}
    const reported = new Set();
    const behaved = (script, what) => {
      if (!script || reported.has(script)) return;
      const entry = recorders.get(script) || { document: false, listeners: new Set() };
      recorders.set(script, entry);
      if (what === "document") entry.document = true;
      else entry.listeners.add(what);
      const listeners = [...entry.listeners];
      if (entry.document && listeners.some((t) => POINTER.has(t)) && listeners.some((t) => KEYS.has(t))) {
        reported.add(script);
        send({ type: "session_recording", script, page: location.href, listeners: listeners.sort() });
      }
    };
    const pageWide = (target) =>
      target === window || target === document || target === document.documentElement || target === document.body;
    wrap(window.MutationObserver && MutationObserver.prototype, "observe", function (args) {
      const [target, options] = args;
      if (pageWide(target) && target !== window && options && options.subtree) behaved(caller(), "document");
    });
    wrap(window.EventTarget && EventTarget.prototype, "addEventListener", function (args) {
      const type = String(args[0]);
      if ((POINTER.has(type) || KEYS.has(type)) && pageWide(this)) behaved(caller(), type);
    });
  }

  // Cookie writers: which script set which cookie (names and attributes only).
  const cookieWrite = (text) => {
    const [pair, ...attributes] = String(text).split(";");
    const name = pair.includes("=") ? pair.slice(0, pair.indexOf("=")).trim() : "";
    once({ type: "cookie_write", name, attributes: attributes.join(";").trim(), script: caller(), page: location.href });
  };
  const cookie = Object.getOwnPropertyDescriptor(Document.prototype, "cookie");
  if (cookie && cookie.set) {
    Object.defineProperty(Document.prototype, "cookie", {
      ...cookie,
      set: function (value) {
        try {
          cookieWrite(value);
        } catch (e) {}
        return cookie.set.call(this, value);
      },
    });
  }
  wrap(window.CookieStore && CookieStore.prototype, "set", function (args) {
    const options = typeof args[0] === "object" && args[0] ? args[0] : { name: args[0] };
    const attributes = options.domain ? `domain=${options.domain}` : "";
    once({ type: "cookie_write", name: String(options.name || ""), attributes, script: caller(), page: location.href });
  });
})();
//# sourceURL=__scanfleet_instrument__
