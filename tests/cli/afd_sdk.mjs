// Drives fakecdn's Front Door routes with Microsoft's own JavaScript SDK (@azure/arm-cdn), so
// the emulator's shapes, status codes and long-running operations are the ones the SDK expects.
// Usage: node afd_sdk.mjs NODE_MODULES_DIR   (env: FAKECDN_URL, ARM_TOKEN, ARM_SUB)
// Prints one line per check ("ok NAME" / "FAIL NAME: why") and exits 1 on any failure.
import { createRequire } from "node:module";
import path from "node:path";

const require = createRequire(path.join(process.argv[2], "x.js"));
const { CdnManagementClient } = require("@azure/arm-cdn");

const base = process.env.FAKECDN_URL;
const token = process.env.ARM_TOKEN;
const sub = process.env.ARM_SUB;
const rg = "fd-rg", profile = "web-afd", ep = "web", route = "default";

// A static bearer token (the TokenCredential shape of @azure/core-auth).
const credential = {
	getToken: async () => ({ token, expiresOnTimestamp: Date.now() + 3600 * 1000 }),
};
const client = new CdnManagementClient(credential, sub, {
	endpoint: base,
	credentialScopes: ["https://management.azure.com/.default"],
	retryOptions: { maxRetries: 0 },
});
const poll = { updateIntervalInMs: 20 };

let failed = 0;
async function check(name, fn) {
	try {
		await fn();
		console.log(`ok ${name}`);
	} catch (e) {
		failed++;
		console.log(`FAIL ${name}: ${e && e.message ? e.message : e}`);
	}
}
function expect(cond, why) {
	if (!cond) throw new Error(why);
}

const ruleBody = (order, ttl) => ({
	order,
	matchProcessingBehavior: "Continue",
	conditions: [
		{
			name: "UrlPath",
			parameters: {
				typeName: "DeliveryRuleUrlPathMatchConditionParameters",
				operator: "BeginsWith",
				matchValues: ["img/"],
			},
		},
	],
	actions: [
		{
			name: "RouteConfigurationOverride",
			parameters: {
				typeName: "DeliveryRuleRouteConfigurationOverrideActionParameters",
				cacheConfiguration: {
					queryStringCachingBehavior: "IgnoreQueryString",
					isCompressionEnabled: "Enabled",
					cacheBehavior: "OverrideAlways",
					cacheDuration: ttl,
				},
			},
		},
	],
});

await check("routes.get", async () => {
	const r = await client.routes.get(rg, profile, ep, route);
	expect(r.name === route, `name ${r.name}`);
	expect(r.cacheConfiguration.queryStringCachingBehavior === "UseQueryString", "qs");
});
await check("ruleSets.create", async () => {
	const s = await client.ruleSets.create(rg, profile, "sdkset");
	expect(s.name === "sdkset", `name ${s.name}`);
	expect(s.provisioningState === "Succeeded", `state ${s.provisioningState}`);
});
// fakecdn refuses writes while the profile's operation runs: wait it out between writes
const settle = () => new Promise((r) => setTimeout(r, 150));
await settle();
await check("rules.beginCreateAndWait (LRO)", async () => {
	const r = await client.rules.beginCreateAndWait(rg, profile, "sdkset", "img", ruleBody(10, "1.00:00:00"), poll);
	expect(r.name === "img", `name ${r.name}`);
	expect(r.order === 10, `order ${r.order}`);
	expect(r.conditions[0].parameters.negateCondition === false, "negateCondition default");
	expect(Array.isArray(r.conditions[0].parameters.transforms), "transforms default");
});
await settle();
await check("rules.beginUpdateAndWait (PATCH merges)", async () => {
	const r = await client.rules.beginUpdateAndWait(rg, profile, "sdkset", "img", { order: 20 }, poll);
	expect(r.order === 20, `order ${r.order}`);
	expect(r.conditions.length === 1, "conditions kept");
});
await check("rules.listByRuleSet", async () => {
	const all = [];
	for await (const r of client.rules.listByRuleSet(rg, profile, "sdkset")) all.push(r);
	expect(all.length === 1 && all[0].name === "img", `got ${all.length}`);
});
await check("ruleSets.listResourceUsage", async () => {
	const all = [];
	for await (const u of client.ruleSets.listResourceUsage(rg, profile, "sdkset")) all.push(u);
	expect(all[0].currentValue === 1 && all[0].limit === 100, JSON.stringify(all[0]));
});
await settle();
await check("routes.beginUpdateAndWait attaches the set (LRO)", async () => {
	const id = `/subscriptions/${sub}/resourceGroups/${rg}/providers/Microsoft.Cdn/profiles/${profile}/ruleSets/sdkset`;
	const r = await client.routes.beginUpdateAndWait(rg, profile, ep, route, { ruleSets: [{ id }] }, poll);
	expect(r.ruleSets.length === 1 && r.ruleSets[0].id === id, JSON.stringify(r.ruleSets));
});
await settle();
await check("ruleSets.beginDeleteAndWait refuses a set on a route", async () => {
	let err;
	try {
		await client.ruleSets.beginDeleteAndWait(rg, profile, "sdkset", poll);
	} catch (e) {
		err = e;
	}
	expect(err && err.statusCode === 400, `status ${err && err.statusCode}`);
	expect(/still associated with a route/.test(err.message), err && err.message);
});
await check("afdEndpoints.beginPurgeContentAndWait (LRO)", async () => {
	await client.afdEndpoints.beginPurgeContentAndWait(rg, profile, ep,
		{ contentPaths: ["/img/a.png", "/css/*"], domains: ["www.example.com"] }, poll);
});
await check("afdEndpoints.listResourceUsage", async () => {
	const all = [];
	for await (const u of client.afdEndpoints.listResourceUsage(rg, profile, ep)) all.push(u);
	expect(all.length === 1 && all[0].unit === "Count", JSON.stringify(all));
});
await settle();
await check("rules.beginDeleteAndWait (LRO)", async () => {
	await client.rules.beginDeleteAndWait(rg, profile, "sdkset", "img", poll);
	const all = [];
	for await (const r of client.rules.listByRuleSet(rg, profile, "sdkset")) all.push(r);
	expect(all.length === 0, `left ${all.length}`);
});
process.exit(failed ? 1 : 0);
