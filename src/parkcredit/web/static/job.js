// Progress of a batch-scoring job: poll its status once a second until it is done or failed.
(function () {
  var box = document.getElementById("job");
  if (!box) return;
  var bar = document.getElementById("job-progress");
  function show(s) {
    bar.max = Math.max(s.total || 0, 1);
    bar.value = s.done || 0;
    document.getElementById("job-status").textContent = box.dataset[s.status] || s.status;
    document.getElementById("job-done").textContent = s.done || 0;
    document.getElementById("job-total").textContent = s.total || 0;
    if (s.result) {  // the figures a person reads, in the page's language (never the raw JSON)
      var r = s.result, parts = [];
      if (r.decided !== undefined) parts.push(box.dataset.labelDecided + " " + r.decided);
      if (r.eligible !== undefined) parts.push(box.dataset.labelEligible + " " + r.eligible);
      if (r.total_limit_yuan !== undefined) {
        parts.push(box.dataset.labelLimit + " " + Number(r.total_limit_yuan).toLocaleString("en-US") + " " + box.dataset.yuan);
      }
      document.getElementById("job-result").textContent = parts.join(" · ");
    }
    if (s.error) document.getElementById("job-result").textContent = s.error;
    box.dataset.state = s.status;
  }
  function poll() {
    fetch(box.dataset.statusUrl, { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (s) {
        show(s);
        if (s.status === "queued" || s.status === "running") setTimeout(poll, 1000);
      })
      .catch(function () { setTimeout(poll, 3000); });
  }
  poll();
})();
