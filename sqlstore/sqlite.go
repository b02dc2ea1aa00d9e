package sqlstore

import (
	"net/url"
	"strings"
)

// SQLiteDSN returns a modernc.org/sqlite data source name for the database
// file at path with the settings several pools and processes on one file
// need: a busy timeout, so a writer waits for another instead of failing with
// "database is locked", and WAL journaling, so reads do not wait for writes.
// Every store statement is one autocommit statement, which is what makes this
// enough. Open it with sql.Open("sqlite", SQLiteDSN(path)).
func SQLiteDSN(path string) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	return "file:" + sqliteURIPath(path) + "?" + q.Encode()
}

// uriEscaper escapes what SQLite's URI filenames give a meaning: %XX
// escapes, the query and the fragment. Everything else is taken as it is.
var uriEscaper = strings.NewReplacer("%", "%25", "?", "%3F", "#", "%23")

// sqliteURIPath writes path as the path of a file: URI, so that SQLite opens
// exactly that file.
func sqliteURIPath(path string) string {
	p := uriEscaper.Replace(path)
	if strings.HasPrefix(p, "//") {
		p = "//" + p // an empty authority: the path keeps its leading "//"
	}
	return p
}
