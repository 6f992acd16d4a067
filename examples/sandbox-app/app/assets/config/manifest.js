//= link_tree ../images
//= link application.css
//= link application.js
