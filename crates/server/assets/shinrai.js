// The console's own script, served as a file so that the Content Security Policy allows
// no inline script. Every page works without it; it only adds conveniences.

// Copy buttons (`<button class="copy" data-copy="ID">`) copy the text of element ID.
document.querySelectorAll("button.copy").forEach(function (b) {
  b.addEventListener("click", function () {
    var text = document.getElementById(b.dataset.copy).textContent;
    navigator.clipboard.writeText(text).then(function () { b.textContent = "Copied"; });
  });
});
