// goparse reads aws-auth ConfigMap manifests the way the real Go stack does,
// so that the Rust reader can be held to it (aws-auth-core/tests/it/oracle.rs).
//
// Input on stdin: a JSON array of manifest texts. Output on stdout: a JSON
// array with one reading per manifest, in the same order.
//
// The manifest, as kubectl reads a file (k8s.io/apimachinery util/yaml and
// sigs.k8s.io/yaml, the successor of ghodss/yaml):
//   - documents are cut at lines that start with "---" followed by nothing but
//     spaces or a comment (YAMLReader); of each piece yaml.v2 reads the first
//     YAML document only;
//   - a piece converts to JSON through yaml.v2 with duplicate keys refused
//     (YAMLToJSONStrict: strict field validation refuses a field given twice);
//   - the object is then held to the ConfigMap schema as strict field
//     validation does: known top-level and metadata fields only (matched
//     case-sensitively), data values strings (null reads as "").
//
// Which document is the aws-auth ConfigMap follows aws-auth's own rule (one
// ConfigMap, or the one named aws-auth in kube-system or no namespace).
//
// The data values, as aws-iam-authenticator's ParseMap (pkg/mapper/configmap)
// reads them; this program reproduces:
//   - mapRoles and mapUsers: util/yaml.ToJSON (a value that starts with "{"
//     after white space is taken as JSON as it is, anything else goes through
//     YAMLToJSON, i.e. yaml.v2 then JSON), then encoding/json into the mapping
//     structs (field names matched without regard to case, unknown fields
//     ignored). A YAML error drops the whole key; a value that is not a list
//     decodes to no entries. A field of the wrong type is left empty and the
//     rest kept: the ParseMap line SEMANTICS describes, which loops over what
//     decoded even when json.Unmarshal reports a type error;
//   - per entry, RoleMapping.Validate (exactly one of rolearn and sso; an sso
//     block with a 12-digit accountID, a permission set name of
//     [\w+=,.@-]{1,32}, a known or empty partition) and UserMapping.Validate
//     (a non-empty userarn); entries that fail are dropped one by one;
//   - mapAccounts: yaml.v2 into []string (scalars keep their text; a syntax
//     error or a value that is not a list drops the key).
//
// It is built from Debian's packages only (golang-go,
// golang-gopkg-yaml.v2-dev, golang-github-ghodss-yaml-dev), in GOPATH mode:
//
//	GOPATH=/usr/share/gocode GO111MODULE=off go build -o target/goparse ./tests/goparse
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"
	"unicode"

	"github.com/ghodss/yaml"
	yamlv2 "gopkg.in/yaml.v2"
)

// The authenticator's mapping structs (pkg/config), fields as it names them.
type ssoMatcher struct {
	PermissionSetName string `json:"permissionSetName"`
	AccountID         string `json:"accountID"`
	Partition         string `json:"partition"`
}

type roleMapping struct {
	RoleARN  string      `json:"rolearn"`
	SSO      *ssoMatcher `json:"sso"`
	Username string      `json:"username"`
	Groups   []string    `json:"groups"`
	UserID   string      `json:"userid"`
}

type userMapping struct {
	UserARN  string   `json:"userarn"`
	Username string   `json:"username"`
	Groups   []string `json:"groups"`
	UserID   string   `json:"userid"`
}

var (
	accountID     = regexp.MustCompile(`^[0-9]{12}$`)
	permissionSet = regexp.MustCompile(`^[\w+=,.@-]{1,32}$`)
)

func (m *roleMapping) valid() bool {
	if (m.RoleARN == "") == (m.SSO == nil) {
		return false
	}
	if m.SSO == nil {
		return true
	}
	switch m.SSO.Partition {
	case "", "aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b":
	default:
		return false
	}
	return accountID.MatchString(m.SSO.AccountID) && permissionSet.MatchString(m.SSO.PermissionSetName)
}

// key is one data key's reading.
type key struct {
	Text       string          `json:"text"`
	Unreadable string          `json:"unreadable,omitempty"`
	Entries    json.RawMessage `json:"entries"`
}

type reading struct {
	Error string          `json:"error,omitempty"`
	Keys  map[string]*key `json:"keys,omitempty"`
}

// toJSON is k8s.io/apimachinery/pkg/util/yaml.ToJSON.
func toJSON(data []byte) ([]byte, error) {
	if bytes.HasPrefix(bytes.TrimLeftFunc(data, unicode.IsSpace), []byte("{")) {
		return data, nil
	}
	return yaml.YAMLToJSON(data)
}

func parseList(text string, decode func([]byte) (interface{}, error)) *key {
	k := &key{Text: text}
	raw, err := toJSON([]byte(text))
	if err != nil {
		k.Unreadable = err.Error()
		k.Entries = json.RawMessage("[]")
		return k
	}
	// A value that is not a list decodes to no entries, with an error. The
	// empty string (a value of "" or '') is the documented exception: it
	// counts as no entries, not as a broken key.
	var shape interface{}
	if err := json.Unmarshal(raw, &shape); err != nil {
		// Text that starts with "{" is taken as JSON as it is: YAML flow
		// syntax there is a JSON syntax error.
		k.Unreadable = err.Error()
	} else if _, list := shape.([]interface{}); !list && shape != nil && shape != "" {
		k.Unreadable = "not a list"
	}
	entries, _ := decode(raw)
	k.Entries, _ = json.Marshal(entries)
	return k
}

func roles(raw []byte) (interface{}, error) {
	all := make([]roleMapping, 0)
	err := json.Unmarshal(raw, &all)
	kept := make([]roleMapping, 0)
	for _, r := range all {
		if r.valid() {
			if r.Groups == nil {
				r.Groups = []string{}
			}
			kept = append(kept, r)
		}
	}
	return kept, err
}

func users(raw []byte) (interface{}, error) {
	all := make([]userMapping, 0)
	err := json.Unmarshal(raw, &all)
	kept := make([]userMapping, 0)
	for _, u := range all {
		if u.UserARN != "" {
			if u.Groups == nil {
				u.Groups = []string{}
			}
			kept = append(kept, u)
		}
	}
	return kept, err
}

func accounts(text string) *key {
	k := &key{Text: text}
	var shape interface{}
	if err := yamlv2.Unmarshal([]byte(text), &shape); err != nil {
		k.Unreadable = err.Error()
		k.Entries = json.RawMessage("[]")
		return k
	}
	if _, list := shape.([]interface{}); !list && shape != nil && shape != "" {
		k.Unreadable = "not a list"
	}
	out := make([]string, 0)
	_ = yamlv2.Unmarshal([]byte(text), &out)
	if out == nil {
		out = []string{}
	}
	k.Entries, _ = json.Marshal(out)
	return k
}

// documents cuts a file as kubectl's YAMLReader does.
func documents(text string) ([]string, error) {
	var docs []string
	var cur strings.Builder
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	sc.Split(func(data []byte, atEOF bool) (int, []byte, error) {
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			return i + 1, data[:i+1], nil
		}
		if atEOF && len(data) > 0 {
			return len(data), data, nil
		}
		return 0, nil, nil
	})
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "---") {
			rest := strings.TrimSpace(line[3:])
			if rest != "" && !strings.HasPrefix(rest, "#") {
				return nil, fmt.Errorf("invalid Yaml document separator: %s", rest)
			}
			docs = append(docs, cur.String())
			cur.Reset()
			continue
		}
		cur.WriteString(line)
	}
	return append(docs, cur.String()), nil
}

var topLevel = map[string]bool{"apiVersion": true, "kind": true, "metadata": true, "data": true, "binaryData": true, "immutable": true}

var objectMeta = map[string]string{
	"name": "string", "generateName": "string", "namespace": "string", "selfLink": "string",
	"uid": "string", "resourceVersion": "string", "generation": "number",
	"creationTimestamp": "string", "deletionTimestamp": "string",
	"deletionGracePeriodSeconds": "number", "labels": "strings", "annotations": "strings",
	"ownerReferences": "list", "finalizers": "list", "managedFields": "list",
}

func hasType(v interface{}, want string) bool {
	if v == nil {
		return true
	}
	switch want {
	case "string":
		_, ok := v.(string)
		return ok
	case "number":
		_, ok := v.(float64)
		return ok
	case "list":
		_, ok := v.([]interface{})
		return ok
	case "strings":
		m, ok := v.(map[string]interface{})
		if !ok {
			return false
		}
		for _, x := range m {
			if _, s := x.(string); !s && x != nil {
				return false
			}
		}
		return true
	}
	return false
}

// configMap holds the chosen document to the ConfigMap schema.
func configMap(obj map[string]interface{}) error {
	for f := range obj {
		if !topLevel[f] {
			return fmt.Errorf("unknown field %q", f)
		}
	}
	if obj["kind"] != "ConfigMap" {
		return fmt.Errorf("not a ConfigMap")
	}
	if obj["apiVersion"] != "v1" {
		return fmt.Errorf("apiVersion is not v1")
	}
	meta, ok := obj["metadata"].(map[string]interface{})
	if !ok && obj["metadata"] != nil {
		return fmt.Errorf("metadata is not an object")
	}
	for f, v := range meta {
		want, known := objectMeta[f]
		if !known {
			return fmt.Errorf("unknown field \"metadata.%s\"", f)
		}
		if !hasType(v, want) {
			return fmt.Errorf("metadata.%s has the wrong type", f)
		}
	}
	if !hasType(obj["data"], "strings") {
		return fmt.Errorf("data is not a map of strings")
	}
	return nil
}

// choose picks the aws-auth ConfigMap among a file's documents, by aws-auth's
// rule.
func choose(docs []map[string]interface{}) (map[string]interface{}, error) {
	if len(docs) == 1 {
		return docs[0], nil
	}
	var maps []map[string]interface{}
	for _, d := range docs {
		if d["kind"] == "ConfigMap" {
			maps = append(maps, d)
		}
	}
	var named, anywhere map[string]interface{}
	for _, m := range maps {
		if field(m, "metadata", "name") != "aws-auth" {
			continue
		}
		meta, _ := m["metadata"].(map[string]interface{})
		ns, hasNs := meta["namespace"].(string)
		if !hasNs || ns == "kube-system" {
			if named != nil {
				return nil, fmt.Errorf("two kube-system/aws-auth ConfigMaps")
			}
			named = m
		} else if anywhere == nil {
			anywhere = m
		}
	}
	switch {
	case named != nil:
		return named, nil
	case anywhere != nil:
		return anywhere, nil
	case len(maps) == 1:
		return maps[0], nil
	}
	return nil, fmt.Errorf("no aws-auth ConfigMap among %d documents", len(docs))
}

func field(obj map[string]interface{}, path ...string) string {
	for i, p := range path {
		v := obj[p]
		if i == len(path)-1 {
			s, _ := v.(string)
			return s
		}
		obj, _ = v.(map[string]interface{})
	}
	return ""
}

func read(text string) reading {
	pieces, err := documents(text)
	if err != nil {
		return reading{Error: err.Error()}
	}
	var docs []map[string]interface{}
	for _, piece := range pieces {
		raw, err := yaml.YAMLToJSONStrict([]byte(piece))
		if err != nil {
			return reading{Error: err.Error()}
		}
		var obj interface{}
		if err := json.Unmarshal(raw, &obj); err != nil {
			return reading{Error: err.Error()}
		}
		if obj == nil {
			continue
		}
		m, ok := obj.(map[string]interface{})
		if !ok {
			return reading{Error: "a document is not an object"}
		}
		docs = append(docs, m)
	}
	chosen, err := choose(docs)
	if err != nil {
		return reading{Error: err.Error()}
	}
	if err := configMap(chosen); err != nil {
		return reading{Error: err.Error()}
	}
	r := reading{Keys: map[string]*key{}}
	data, _ := chosen["data"].(map[string]interface{})
	for name, v := range data {
		s, _ := v.(string)
		switch name {
		case "mapRoles":
			r.Keys[name] = parseList(s, roles)
		case "mapUsers":
			r.Keys[name] = parseList(s, users)
		case "mapAccounts":
			r.Keys[name] = accounts(s)
		}
	}
	return r
}

func main() {
	var texts []string
	if err := json.NewDecoder(os.Stdin).Decode(&texts); err != nil {
		fmt.Fprintln(os.Stderr, "goparse: stdin is not a JSON array of strings:", err)
		os.Exit(2)
	}
	out := make([]reading, len(texts))
	for i, t := range texts {
		out[i] = read(t)
	}
	w := bufio.NewWriter(os.Stdout)
	if err := json.NewEncoder(w).Encode(out); err != nil {
		fmt.Fprintln(os.Stderr, "goparse:", err)
		os.Exit(1)
	}
	w.Flush()
}
