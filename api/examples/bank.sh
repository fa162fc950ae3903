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
# -> {"uscc":"…","product":"chengxindai","status":"ELIGIBLE","eligible":true,"limit_decided_yuan":…,
#     "limit_available_yuan":… (after every partner bank's loans),"outstanding_yuan":…,"band":"…",
#     "reasons":[{"code":"…","kind":"score","zh":"…","en":"…"}],"flags":[],"disputed_fields":[],…}
echo

echo "== 2. An enterprise that has not authorized us: 403 (the refusal is logged too)"
curl -sS -w "  HTTP %{http_code}\n" "$API/v1/eligibility/$OTHER?product=chengxindai" -H "Authorization: Bearer $BANK_KEY"
echo "   A mistyped USCC is refused with 422 naming the field (here: a wrong check character):"
curl -sS -w "  HTTP %{http_code}\n" "$API/v1/eligibility/91510311MA6000001X?product=chengxindai" \
  -H "Authorization: Bearer $BANK_KEY"

echo "== 3. Several at once (up to 1,000; each refused one with its reason)"
curl -sS -X POST "$API/v1/eligibility/batch" -H "Authorization: Bearer $BANK_KEY" -H "Content-Type: application/json" \
  -d "{\"product\":\"chengxindai\",\"usccs\":[\"$USCC\",\"$OTHER\"]}"
echo

echo "== 4. Report the loan we made (checked: authorization on that day, an eligible decision, the limit available;"
echo "   Idempotency-Key makes a retry safe: same key + same body = same answer)"
DECISION=$(curl -sS "$API/v1/eligibility/$USCC?product=chengxindai" -H "Authorization: Bearer $BANK_KEY" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["decision_id"])')
TODAY=$(date +%F)
curl -sS -X POST "$API/v1/loans" -H "Authorization: Bearer $BANK_KEY" -H "Content-Type: application/json" \
  -H "Idempotency-Key: loan-ZGB-0001" \
  -d "{\"loan_ref\":\"ZGB-0001\",\"uscc\":\"$USCC\",\"product\":\"chengxindai\",\"amount_yuan\":500000,\"disbursed_on\":\"$TODAY\",\"term_months\":12,\"decision_id\":\"$DECISION\"}"
echo
echo "   … and later its status (current, overdue_30, overdue_90, default, repaid, written_off):"
echo "   curl -X POST $API/v1/loans/<loan_id>/events -d '{\"status\":\"overdue_30\",\"principal_outstanding_yuan\":450000,\"event_on\":\"…\"}'"

echo "== 5. Whitelist (eligible enterprises that authorized us); pass its cursor as since= next time"
curl -sS "$API/v1/whitelist?product=chengxindai" -H "Authorization: Bearer $BANK_KEY"
echo

echo "== 6. Early warnings about our borrowers (poll with after=<cursor>, or register a webhook)"
curl -sS "$API/v1/alerts?after=0" -H "Authorization: Bearer $BANK_KEY"
echo

echo "== 7. Our own query log (every query, answered or refused)"
curl -sS "$API/v1/bank-queries?limit=5" -H "Authorization: Bearer $BANK_KEY"
echo
