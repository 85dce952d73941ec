// Check-in page: where the browser can read QR codes itself (BarcodeDetector), offer to scan
// tickets with the camera and check the person in at once. Everything works without this file:
// the phone's own camera app opens the ticket's check-in link, and the search finds names.
(function () {
  "use strict";

  function codeFrom(text) {
    // Tickets hold the check-in address (…/check-in?code=…); accept a bare code as well.
    try {
      var url = new URL(text, window.location.href);
      var code = url.searchParams.get("code");
      if (code) {
        return code;
      }
    } catch (error) {
      // Not an address: fall through to the bare code.
    }
    return text.trim();
  }

  function start() {
    var scanner = document.getElementById("scanner");
    if (!scanner || !("BarcodeDetector" in window) || !navigator.mediaDevices ||
        !navigator.mediaDevices.getUserMedia) {
      return;
    }
    var startButton = document.getElementById("scan-start");
    var stopButton = document.getElementById("scan-stop");
    var video = document.getElementById("scan-video");
    var status = document.getElementById("scan-status");
    var form = document.getElementById("scan-form");
    var codeInput = document.getElementById("scan-code");
    var detector = null;
    var stream = null;
    var timer = null;

    function stop() {
      if (timer) {
        window.clearTimeout(timer);
        timer = null;
      }
      if (stream) {
        stream.getTracks().forEach(function (track) { track.stop(); });
        stream = null;
      }
      video.hidden = true;
      stopButton.hidden = true;
      startButton.hidden = false;
    }

    function look() {
      detector.detect(video).then(function (codes) {
        var found = codes.length ? codeFrom(codes[0].rawValue || "") : "";
        if (found) {
          stop();
          codeInput.value = found;
          form.submit();
          return;
        }
        timer = window.setTimeout(look, 250);
      }).catch(function () {
        timer = window.setTimeout(look, 500);
      });
    }

    startButton.addEventListener("click", function () {
      status.textContent = scanner.dataset.starting;
      try {
        detector = new window.BarcodeDetector({ formats: ["qr_code"] });
      } catch (error) {
        status.textContent = scanner.dataset.failed;
        return;
      }
      navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false })
        .then(function (mediaStream) {
          stream = mediaStream;
          video.srcObject = stream;
          video.hidden = false;
          startButton.hidden = true;
          stopButton.hidden = false;
          status.textContent = "";
          return video.play();
        })
        .then(look)
        .catch(function () {
          stop();
          status.textContent = scanner.dataset.failed;
        });
    });
    stopButton.addEventListener("click", stop);
    window.addEventListener("pagehide", stop);
    scanner.hidden = false;
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
}());
