// terser minifies this at precompile.
//= require_tree ./shop

document.addEventListener("DOMContentLoaded", function () {
  var list = document.querySelector(".orders");
  if (list) {
    Shop.highlightNewest(list);
  }
  // For the browser test: the script ran, and this is the colour the
  // stylesheet gave the release line.
  var release = document.querySelector(".release");
  if (release) {
    document.body.setAttribute("data-release-color", window.getComputedStyle(release).color);
  }
});
