// Package static embeds the CSS, JavaScript and images of the hosted pages
// so the binary is self-contained and pages fetch nothing from elsewhere.
package static

import (
	"embed"
	"io/fs"
	"net/http"
)

//go:embed *.css *.js *.svg
var files embed.FS

// FS returns the embedded files.
func FS() fs.FS { return files }

// Handler serves the files; mount it under /static/.
func Handler() http.Handler {
	return http.StripPrefix("/static/", http.FileServer(http.FS(files)))
}
