document.addEventListener("click",function(e){var a=e.target.closest&&e.target.closest("a.exit");if(a){e.preventDefault();location.replace(a.href)}});
