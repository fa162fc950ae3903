#!/usr/bin/env bash
# A partner bank's first session with the parkcredit API (企业诚信贷), with curl.
#
#   ./dev serve            # in another terminal: demo database, prints the demo keys below
#   api/examples/bank.sh   # then this
#
# The keys and the USCC are the demo's (deterministic in --demo mode only). In production the
# park's operator gives your bank its own key (`parkcredit keys create --role bank --bank "…"`);
# it is shown once and only its hash is stored.
set -euo pipefail
API=${API:-http://127.0.0.1:8000}
BANK_KEY=${BANK_KEY:-pck_demo_5a2cb0eeac6ee5eb0884caf1e50aaf3d}            # bank: 自贡银行
USCC=${USCC:-91510311MA6XPQ6E8J}    # an enterprise that authorized 自贡银行 in the demo park
OTHER=${OTHER:-91510300MA6F5PPE0M}  # one that did not

echo "== 1. Eligibility summary (the enterprise has authorized our bank for chengxindai)"
curl -sS "$API/v1/eligibility/$USCC?product=chengxindai" -H "Authorization: Bearer $BANK_KEY"
# -> {"uscc":"…","product":"chengxindai","eligible":…,"limit_yuan":…,"band":"…","valid_until":"…",
#     "reasons":[{"code":"…","zh":"…","en":"…"}],"decision_id":"…","as_of":"…","ruleset_version":"1.0"}
echo

echo "== 2. An enterprise that has not authorized us: 403 (the refusal is logged too)"
curl -sS -w "  HTTP %{http_code}\n" "$API/v1/eligibility/$OTHER?product=chengxindai" -H "Authorization: Bearer $BANK_KEY"
echo "   A mistyped USCC is refused with 422 naming the field (here: a wrong check character):"
curl -sS -w "  HTTP %{http_code}\n" "$API/v1/eligibility/91510311MA6000001X?product=chengxindai" \
  -H "Authorization: Bearer $BANK_KEY"

echo "== 3. Report the loan we made (Idempotency-Key makes a retry safe: same key + same body = same answer)"
DECISION=$(curl -sS "$API/v1/eligibility/$USCC?product=chengxindai" -H "Authorization: Bearer $BANK_KEY" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["decision_id"])')
curl -sS -X POST "$API/v1/outcomes" -H "Authorization: Bearer $BANK_KEY" -H "Content-Type: application/json" \
  -H "Idempotency-Key: loan-2025-0001" \
  -d "{\"uscc\":\"$USCC\",\"product\":\"chengxindai\",\"decision_id\":\"$DECISION\",\"disbursed_yuan\":500000,\"disbursed_on\":\"2025-07-01\",\"status\":\"current\"}"
echo

echo "== 4. Our own query log (every query, answered or refused)"
curl -sS "$API/v1/bank-queries?limit=5" -H "Authorization: Bearer $BANK_KEY"
echo
