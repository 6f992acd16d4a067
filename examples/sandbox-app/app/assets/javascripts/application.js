// terser minifies this at precompile.
//= require_tree ./shop

document.addEventListener("DOMContentLoaded", function () {
  var list = document.querySelector(".orders");
  if (list) {
    Shop.highlightNewest(list);
  }
});
