var Shop = window.Shop || {};
window.Shop = Shop;

Shop.highlightNewest = function (list) {
  var first = list.querySelector("li");
  if (first) {
    first.classList.add("newest");
  }
  return first;
};
