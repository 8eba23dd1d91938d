/*
 * test-json-out: base/json_out's three sinks agree with each other and with the text.
 *
 * One value, written event by event, is built as a tree, hashed without one and written as text:
 * the tree's compact text (json_write) is what was written and what the text sink wrote, its
 * length is the hash sink's byte count, and hashing the tree (jo_tree, which the trace hash of a
 * JSON message is) gives the hash sink's hash. Commas, keys with characters to escape, empty
 * containers, nesting and every scalar kind are in it. jo_int writes an integer beyond 2^53
 * exactly as text, and as the double it rounds to in a tree. Literal keys of every length the hash
 * sink takes inline, and one past them.
 */
#include "base/buf.h"
#include "base/json.h"
#include "base/json_out.h"
#include "tests/testlib.h"

#include <string.h>

static void write_value(json_out *o)
{
    jo_object(o);
    jo_key_literal(o, "type");
    jo_string(o, "push");
    jo_key(o, "quote\"tab\tnl\nctl\x01");
    jo_string(o, "back\\slash \"é\" \x1f");
    jo_key_literal(o, "empty");
    jo_object(o);
    jo_end(o);
    jo_key_literal(o, "list");
    jo_array(o);
    jo_number(o, 0);
    jo_number(o, -1735689600000123.0);
    jo_number(o, 62.5);
    jo_number(o, 1e300);
    jo_bool(o, true);
    jo_bool(o, false);
    jo_null(o);
    jo_array(o);
    jo_end(o);
    jo_array(o);
    jo_object(o);
    jo_key(o, "");
    jo_string(o, "");
    jo_end(o);
    jo_end(o);
    jo_end(o);
    jo_key_literal(o, "last");
    jo_number(o, 9007199254740991.0);
    jo_key_literal(o, "ints");
    jo_array(o);
    jo_int(o, -42);
    jo_int(o, INT64_C(1735689600000123));
    jo_int(o, 0);
    jo_int(o, INT64_C(999999999999999));
    jo_int(o, INT64_C(1000000000000000));
    jo_int(o, INT64_C(9007199254740991));   /* the last the hash sink sizes as an integer */
    jo_int(o, -INT64_C(9007199254740991));
    jo_int(o, INT64_C(9007199254740992));   /* from here as the double it is */
    jo_end(o);
    /* Literal keys the hash sink takes inline (up to 7 characters) and one it does not. */
    jo_key_literal(o, "");
    jo_int(o, 1);
    jo_key_literal(o, "deleted");
    jo_int(o, -7);
    jo_key_literal(o, "sequence");
    jo_int(o, -INT64_C(9007199254740992));   /* -2^53: past the inline range, exact all the same */
    jo_end(o);
}

static const char EXPECTED[] =
    "{\"type\":\"push\",\"quote\\\"tab\\tnl\\nctl\\u0001\":\"back\\\\slash \\\"é\\\" \\u001f\",\"empty\":{},"
    "\"list\":[0,-1735689600000123,62.5,1e+300,true,false,null,[],[{\"\":\"\"}]],\"last\":9007199254740991,"
    "\"ints\":[-42,1735689600000123,0,999999999999999,1000000000000000,9007199254740991,-9007199254740991,"
    "9007199254740992],\"\":1,\"deleted\":-7,\"sequence\":-9007199254740992}";

int main(void)
{
    json_out tree_out, hash_out;
    json_out_tree(&tree_out);
    write_value(&tree_out);
    cJSON *tree = json_out_take(&tree_out);
    json_out_hash(&hash_out, 0);
    write_value(&hash_out);
    uint64_t bytes = 0;
    uint64_t hash = json_out_result(&hash_out, &bytes);

    buf text;
    buf_init(&text);
    json_write(&text, tree);
    EXPECT_STR(text.data, EXPECTED);
    EXPECT_U64(bytes, text.len);

    /* The tree hashed as the trace hashes a JSON message: the same stream. */
    json_out again;
    json_out_hash(&again, 0);
    jo_tree(&again, tree);
    uint64_t tree_bytes = 0;
    EXPECT_U64(json_out_result(&again, &tree_bytes), hash);
    EXPECT_U64(tree_bytes, bytes);

    /* The chain: another starting hash gives another hash; one member more does too. */
    json_out seeded;
    json_out_hash(&seeded, 1);
    write_value(&seeded);
    EXPECT(json_out_result(&seeded, NULL) != hash);
    json_out shorter;
    json_out_hash(&shorter, 0);
    jo_tree(&shorter, cJSON_GetObjectItemCaseSensitive(tree, "list"));
    EXPECT(json_out_result(&shorter, NULL) != hash);

    /* The text sink writes that same text, appending to what the buffer holds. */
    buf written;
    buf_init(&written);
    buf_puts(&written, "x");
    json_out text_out;
    json_out_text(&text_out, &written);
    write_value(&text_out);
    EXPECT_STR(written.data + 1, EXPECTED);

    /* Beyond 2^53: exact as text, the double it rounds to in a tree. */
    buf_clear(&written);
    json_out_text(&text_out, &written);
    jo_int(&text_out, INT64_C(9007199254740993));
    EXPECT_STR(written.data, "9007199254740993");
    json_out_tree(&tree_out);
    jo_int(&tree_out, INT64_C(9007199254740993));
    cJSON *big = json_out_take(&tree_out);
    EXPECT(cJSON_GetNumberValue(big) == 9007199254740992.0);
    cJSON_Delete(big);

    buf_free(&written);
    buf_free(&text);
    cJSON_Delete(tree);
    return test_exit("test-json-out");
}
