// Drives a running microtomcat with the real npm Jolokia client (jolokia.js).
// Usage: node client.mjs <base url, e.g. http://127.0.0.1:8080> <admin token> <session id in /counter>
// Prints one line per check; exits 1 at the first failed one.
import Jolokia from "jolokia.js";

const [base, token, sessionId] = process.argv.slice(2);
if (!base || !token || !sessionId) {
  console.error("usage: node client.mjs <base url> <admin token> <session id>");
  process.exit(64);
}
const url = base + "/jolokia";
const reader = new Jolokia({ url });
const admin = new Jolokia({ url, headers: { Authorization: "Bearer " + token } });
const counter = "Catalina:type=Manager,context=/counter,host=localhost";
const counterCanonical = "Catalina:context=/counter,host=localhost,type=Manager";

function check(name, condition, detail) {
  if (!condition) {
    console.error("FAIL " + name + ": " + JSON.stringify(detail));
    process.exit(1);
  }
  console.log("ok   " + name);
}

const get = (request) => reader.request(request, { method: "get" });
const post = (client, request) => client.request(request, { method: "post" });

let r = await get({ type: "version" });
check("version", r.status === 200 && r.value.protocol, r);

// Read one attribute by GET: jolokia.js escapes the "/" of "/counter" as "!/" and percent-encodes.
r = await get({ type: "read", mbean: counter, attribute: "activeSessions" });
check("read single (GET)", r.status === 200 && r.value >= 1, r);
const activeBefore = r.value;

r = await post(reader, { type: "read", mbean: counter, attribute: "sessionCounter" });
check("read single (POST)", r.status === 200 && r.value >= 1, r);

r = await post(reader, { type: "read", mbean: counter, attribute: ["activeSessions", "maxActive", "sessionCreateRate"] });
check("read multi", r.status === 200 && Object.keys(r.value).length === 3 && r.value.maxActive >= 1, r);

r = await get({ type: "read", mbean: counter });
check("read all attributes", r.status === 200 && "expiredSessions" in r.value && "processingTime" in r.value, r);

r = await post(reader, { type: "read", mbean: "Catalina:type=Manager,*", attribute: "activeSessions" });
check("read pattern", r.status === 200 && r.value[counterCanonical] && r.value[counterCanonical].activeSessions >= 1, r);

r = await post(reader, { type: "read", mbean: "Catalina:type=ThreadPool,name=\"http\"", attribute: "maxThreads" });
check("read quoted name", r.status === 200 && r.value > 0, r);

r = await post(reader, { type: "read", mbean: "Catalina:type=Manager,*", attribute: "activeSessions", path: "" });
check("read pattern with empty path", r.status === 200, r);

r = await post(reader, { type: "list", path: "Catalina/context=!/counter,host=localhost,type=Manager" });
check("list with path", r.status === 200 && r.value.attr && r.value.attr.activeSessions.type === "int" &&
      r.value.op && r.value.op.expireSession.args[0].type === "java.lang.String", r);

r = await get({ type: "list" });
check("list all", r.status === 200 && r.value.Catalina && r.value.Catalina["name=\"http\",type=GlobalRequestProcessor"], r);

r = await get({ type: "search", mbean: "Catalina:type=Manager,*" });
check("search", r.status === 200 && r.value.includes(counterCanonical) && r.value.length >= 2, r);

r = await post(admin, { type: "exec", mbean: counter, operation: "listSessionIds" });
check("exec listSessionIds", r.status === 200 && r.value.split(" ").includes(sessionId), r);

r = await post(reader, { type: "exec", mbean: counter, operation: "expireSession", arguments: [sessionId] });
check("exec without the token is refused", r.status === 403 && r.error_type === "java.lang.SecurityException", r);

r = await post(admin, { type: "exec", mbean: counter, operation: "expireSession", arguments: [sessionId] });
check("exec expireSession", r.status === 200 && r.value === null, r);

r = await post(admin, { type: "exec", mbean: counter, operation: "listSessionIds" });
check("session gone after expireSession", r.status === 200 && !r.value.split(" ").includes(sessionId), r);

r = await get({ type: "read", mbean: counter, attribute: "activeSessions" });
check("activeSessions dropped", r.status === 200 && r.value === activeBefore - 1, r);

r = await post(admin, { type: "write", mbean: counter, attribute: "maxInactiveInterval", value: 900 });
check("write returns the old value", r.status === 200 && typeof r.value === "number", r);
r = await get({ type: "read", mbean: counter, attribute: "maxInactiveInterval" });
check("write took effect", r.status === 200 && r.value === 900, r);

r = await post(reader, { type: "read", mbean: "Catalina:type=NoSuchThing", attribute: "x" });
check("unknown MBean", r.status === 404 && r.error_type === "javax.management.InstanceNotFoundException", r);

r = await get({ type: "read", mbean: counter, attribute: "noSuchAttribute" });
check("unknown attribute", r.status === 404 && r.error_type === "javax.management.AttributeNotFoundException", r);

const bulk = await post(reader, [
  { type: "read", mbean: counter, attribute: "activeSessions" },
  { type: "read", mbean: "Catalina:type=NoSuchThing" },
  { type: "search", mbean: "*:*" },
]);
check("bulk", Array.isArray(bulk) && bulk.length === 3 && bulk[0].status === 200 && bulk[1].status === 404 &&
      bulk[2].value.length >= 4, bulk);

console.log("all Jolokia checks passed");
