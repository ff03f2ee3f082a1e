// The console's own script, served as a file so that the Content Security Policy allows
// no inline script. Every page works without it; it only adds conveniences.

// Copy buttons: a button with `data-copy="ID"` copies the text of the element with that
// id; without JavaScript (or a clipboard) the text is there to select by hand.
document.addEventListener("click", function (event) {
  var button = event.target.closest("button[data-copy]");
  if (!button) {
    return;
  }
  var source = document.getElementById(button.dataset.copy);
  if (!source || !navigator.clipboard) {
    return;
  }
  navigator.clipboard.writeText(source.textContent).then(function () {
    button.textContent = "Copied";
  });
});
