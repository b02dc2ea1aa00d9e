package killtest

import (
	"encoding/json"
	"fmt"
	"os"
)

// envConsumer carries a consumer process's command-line arguments, as a
// JSON array, from the test to the test binary it starts.
const envConsumer = "IDEMPOTENCY_EXAMPLE_CONSUMER"

// ConsumerArgs reports whether this process is a consumer that [Run]
// started, and with which command-line arguments. An example's TestMain
// calls it first and, when it reports true, runs the example's command
// with those arguments instead of the tests.
func ConsumerArgs() ([]string, bool) {
	v, ok := os.LookupEnv(envConsumer)
	if !ok {
		return nil, false
	}
	var args []string
	if err := json.Unmarshal([]byte(v), &args); err != nil {
		fmt.Fprintf(os.Stderr, "killtest: %s=%q: %v\n", envConsumer, v, err)
		os.Exit(2)
	}
	return args, true
}
