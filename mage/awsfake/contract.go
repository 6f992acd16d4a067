package awsfake

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
)

// ContractEnv turns on contract checking in every double of the process:
// "1" (the models of the aws CLI's botocore) or the path of a botocore
// data directory. mage test sets it.
const ContractEnv = "DEPLOYKIT_AWSFAKE_CONTRACT"

// ContractLogEnv, when set, names a directory where each process appends
// one line per checked exchange (for the suite's summary).
const ContractLogEnv = "DEPLOYKIT_AWSFAKE_CONTRACT_LOG"

// Contract checks JSON 1.1 requests and responses against botocore's
// service models (shapes, members, types, enums, required members and,
// for requests, ranges and lengths): a model we did not write judges
// every byte the double and its clients exchange.
type Contract struct {
	services map[string]*serviceModel // by X-Amz-Target prefix
}

type serviceModel struct {
	name       string
	operations map[string]struct {
		Input  *shapeRef `json:"input"`
		Output *shapeRef `json:"output"`
		Errors []shapeRef
	}
	shapes map[string]*shape
}

type shapeRef struct {
	Shape string `json:"shape"`
}

type shape struct {
	Type     string              `json:"type"`
	Members  map[string]shapeRef `json:"members"`
	Required []string            `json:"required"`
	Member   *shapeRef           `json:"member"`
	Key      *shapeRef           `json:"key"`
	Value    *shapeRef           `json:"value"`
	Enum     []string            `json:"enum"`
	Min      *float64            `json:"min"`
	Max      *float64            `json:"max"`
}

// ContractServices are the models the double speaks: ECS, ECR, Logs.
var ContractServices = []string{"ecs", "ecr", "logs"}

// BotocoreData finds botocore's data directory: among the python3 on PATH's
// botocore (what the pip-installed aws CLI runs on) and the copy Debian's
// awscli package bundles, the one with the newest ECS model (AWS only adds
// to a model), so every machine judges by the same, most recent contract.
func BotocoreData() (string, error) {
	var candidates []string
	for _, py := range []string{"python3", "/usr/bin/python3"} {
		out, err := exec.Command(py, "-c", "import botocore,os;print(os.path.join(os.path.dirname(botocore.__file__),'data'))").Output()
		if err == nil {
			candidates = append(candidates, strings.TrimSpace(string(out)))
		}
	}
	candidates = append(candidates, "/usr/lib/python3/dist-packages/awscli/botocore/data")
	best, bestSize := "", 0
	for _, dir := range candidates {
		versions, _ := filepath.Glob(filepath.Join(dir, "ecs", "*"))
		if len(versions) == 0 {
			continue
		}
		sort.Strings(versions)
		data, err := readModel(versions[len(versions)-1])
		if err != nil {
			continue
		}
		var m struct {
			Shapes map[string]json.RawMessage `json:"shapes"`
		}
		if json.Unmarshal(data, &m) == nil && len(m.Shapes) > bestSize {
			best, bestSize = dir, len(m.Shapes)
		}
	}
	if best == "" {
		return "", errors.New("botocore's models not found: install the aws CLI (scripts/setup)")
	}
	return best, nil
}

// LoadContract reads the ECS, ECR and Logs models from a botocore data
// directory (service-2.json or service-2.json.gz, newest API version).
func LoadContract(dataDir string) (*Contract, error) {
	c := &Contract{services: map[string]*serviceModel{}}
	for _, svc := range ContractServices {
		versions, _ := filepath.Glob(filepath.Join(dataDir, svc, "*"))
		sort.Strings(versions)
		if len(versions) == 0 {
			return nil, fmt.Errorf("no %s model in %s", svc, dataDir)
		}
		dir := versions[len(versions)-1]
		data, err := readModel(dir)
		if err != nil {
			return nil, err
		}
		var raw struct {
			Metadata struct {
				TargetPrefix string `json:"targetPrefix"`
			} `json:"metadata"`
			Operations map[string]struct {
				Input  *shapeRef `json:"input"`
				Output *shapeRef `json:"output"`
				Errors []shapeRef
			} `json:"operations"`
			Shapes map[string]*shape `json:"shapes"`
		}
		if err := json.Unmarshal(data, &raw); err != nil {
			return nil, fmt.Errorf("%s model: %w", svc, err)
		}
		c.services[raw.Metadata.TargetPrefix] = &serviceModel{name: svc, operations: raw.Operations, shapes: raw.Shapes}
	}
	return c, nil
}

func readModel(dir string) ([]byte, error) {
	if data, err := os.ReadFile(filepath.Join(dir, "service-2.json")); err == nil {
		return data, nil
	}
	f, err := os.Open(filepath.Join(dir, "service-2.json.gz"))
	if err != nil {
		return nil, fmt.Errorf("no service-2.json(.gz) in %s", dir)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(zr)
}

// CheckRequest validates a request body against the operation's input.
func (c *Contract) CheckRequest(target string, body []byte) []string {
	return c.check(target, body, true)
}

// CheckResponse validates a response body against the operation's output.
func (c *Contract) CheckResponse(target string, body []byte) []string {
	return c.check(target, body, false)
}

func (c *Contract) check(target string, body []byte, input bool) []string {
	prefix, op, _ := strings.Cut(target, ".")
	m, ok := c.services[prefix]
	if !ok {
		return []string{fmt.Sprintf("%s: no model for target prefix %s", target, prefix)}
	}
	o, ok := m.operations[op]
	if !ok {
		return []string{fmt.Sprintf("%s: %s has no operation %s", target, m.name, op)}
	}
	ref := o.Output
	what := "response"
	if input {
		ref, what = o.Input, "request"
	}
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return []string{fmt.Sprintf("%s %s: not JSON: %v", op, what, err)}
	}
	if ref == nil {
		if obj, ok := v.(map[string]any); ok && len(obj) == 0 {
			return nil
		}
		return []string{fmt.Sprintf("%s %s: the model has no %s shape, but the body is %s", op, what, what, body)}
	}
	var errs []string
	m.validate(&errs, op+" "+what, ref.Shape, v, input)
	return errs
}

func (m *serviceModel) validate(errs *[]string, path, shapeName string, v any, input bool) {
	sh, ok := m.shapes[shapeName]
	if !ok {
		*errs = append(*errs, fmt.Sprintf("%s: unknown shape %s", path, shapeName))
		return
	}
	bad := func(format string, args ...any) {
		*errs = append(*errs, path+": "+fmt.Sprintf(format, args...))
	}
	if v == nil {
		bad("null (%s): AWS omits a member rather than sending null", sh.Type)
		return
	}
	switch sh.Type {
	case "structure":
		obj, ok := v.(map[string]any)
		if !ok {
			bad("want an object (%s), got %T", shapeName, v)
			return
		}
		for _, r := range sh.Required {
			if _, ok := obj[r]; !ok {
				bad("required member %s is missing", r)
			}
		}
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			ref, ok := sh.Members[k]
			if !ok {
				bad("member %s is not in %s", k, shapeName)
				continue
			}
			m.validate(errs, path+"."+k, ref.Shape, obj[k], input)
		}
	case "list":
		list, ok := v.([]any)
		if !ok {
			bad("want a list (%s), got %T", shapeName, v)
			return
		}
		if input {
			m.length(bad, sh, len(list), "items")
		}
		for i, item := range list {
			m.validate(errs, fmt.Sprintf("%s[%d]", path, i), sh.Member.Shape, item, input)
		}
	case "map":
		obj, ok := v.(map[string]any)
		if !ok {
			bad("want a map (%s), got %T", shapeName, v)
			return
		}
		for k, val := range obj {
			m.validate(errs, path+"["+k+"]", sh.Key.Shape, k, input)
			m.validate(errs, path+"["+k+"]", sh.Value.Shape, val, input)
		}
	case "string":
		s, ok := v.(string)
		if !ok {
			bad("want a string (%s), got %T %v", shapeName, v, v)
			return
		}
		if len(sh.Enum) > 0 && !contains(sh.Enum, s) {
			bad("%q is not one of %s's values %v", s, shapeName, sh.Enum)
		}
		if input {
			m.length(bad, sh, len([]rune(s)), "characters")
		}
	case "integer", "long":
		n, ok := v.(json.Number)
		if !ok {
			bad("want an integer (%s), got %T %v", shapeName, v, v)
			return
		}
		i, err := n.Int64()
		if err != nil {
			bad("want an integer (%s), got %s", shapeName, n)
			return
		}
		if input && ((sh.Min != nil && float64(i) < *sh.Min) || (sh.Max != nil && float64(i) > *sh.Max)) {
			bad("%d is outside %s's range", i, shapeName)
		}
	case "double", "float":
		if _, ok := v.(json.Number); !ok {
			bad("want a number (%s), got %T", shapeName, v)
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			bad("want a boolean (%s), got %T %v", shapeName, v, v)
		}
	case "timestamp":
		// The JSON protocol sends epoch seconds.
		if _, ok := v.(json.Number); !ok {
			bad("want epoch seconds (%s), got %T %v", shapeName, v, v)
		}
	case "blob":
		s, ok := v.(string)
		if !ok {
			bad("want base64 (%s), got %T", shapeName, v)
		} else if _, err := base64.StdEncoding.DecodeString(s); err != nil {
			bad("not base64: %v", err)
		}
	default:
		bad("shape type %s is not checked", sh.Type)
	}
}

func (m *serviceModel) length(bad func(string, ...any), sh *shape, n int, unit string) {
	if sh.Min != nil && float64(n) < *sh.Min {
		bad("%d %s, fewer than the minimum %v", n, unit, *sh.Min)
	}
	if sh.Max != nil && float64(n) > *sh.Max {
		bad("%d %s, more than the maximum %v", n, unit, *sh.Max)
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

var (
	sharedContract     *Contract
	sharedContractErr  error
	sharedContractOnce sync.Once
	contractLogMu      sync.Mutex
)

// contractFromEnv loads the contract once per process when ContractEnv
// asks for it.
func contractFromEnv() (*Contract, error) {
	setting := os.Getenv(ContractEnv)
	if setting == "" {
		return nil, nil
	}
	sharedContractOnce.Do(func() {
		dir := setting
		if setting == "1" {
			dir, sharedContractErr = BotocoreData()
			if sharedContractErr != nil {
				return
			}
		}
		sharedContract, sharedContractErr = LoadContract(dir)
	})
	return sharedContract, sharedContractErr
}

// logContract appends one checked exchange to the process's log.
func (s *Server) logContract(op string, violations int) {
	dir := os.Getenv(ContractLogEnv)
	if dir == "" || !s.logExchanges {
		return
	}
	contractLogMu.Lock()
	defer contractLogMu.Unlock()
	f, err := os.OpenFile(filepath.Join(dir, fmt.Sprintf("contract-%d.log", os.Getpid())), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return
	}
	defer f.Close()
	fmt.Fprintf(f, "%s %d\n", op, violations)
}
