/*
 * The filler vocabulary: a few hundred common English words grouped by part
 * of speech, with the classes of nouns each adjective, verb and preposition
 * goes with, so generated sentences read naturally.
 *
 * Nothing here may contain a digit or a needle phrase ("pass key", "special
 * magic number", "VAR", "variables", "assigned", "value", "remember",
 * "answer"): the tasks rely on filler never saying those (tests check it).
 * Changing these lists changes the synthetic tokenizer's vocabulary.
 */
#include "data/data_internal.h"

#define P WL_PERSON
#define A WL_ANIMAL
#define T WL_THING
#define F WL_FIXTURE
#define L WL_PLACE
#define W (WL_PLACE | WL_PATH)

const wl_noun lc_wl_nouns[] = {
    /* people */
    {"farmer", "farmers", P}, {"teacher", "teachers", P}, {"baker", "bakers", P},
    {"sailor", "sailors", P}, {"painter", "painters", P}, {"doctor", "doctors", P},
    {"neighbor", "neighbors", P}, {"student", "students", P}, {"guard", "guards", P},
    {"driver", "drivers", P}, {"singer", "singers", P}, {"traveler", "travelers", P},
    {"child", "children", P}, {"boy", "boys", P}, {"girl", "girls", P},
    {"man", "men", P}, {"woman", "women", P}, {"king", "kings", P},
    {"queen", "queens", P}, {"friend", "friends", P}, {"nurse", "nurses", P},
    {"cook", "cooks", P}, {"writer", "writers", P}, {"hunter", "hunters", P},
    {"fisherman", "fishermen", P}, {"stranger", "strangers", P},
    /* animals */
    {"cat", "cats", A}, {"dog", "dogs", A}, {"bird", "birds", A},
    {"horse", "horses", A}, {"fox", "foxes", A}, {"cow", "cows", A},
    {"sheep", "sheep", A}, {"goat", "goats", A}, {"rabbit", "rabbits", A},
    {"mouse", "mice", A}, {"duck", "ducks", A}, {"bear", "bears", A},
    {"wolf", "wolves", A}, {"owl", "owls", A}, {"frog", "frogs", A},
    {"deer", "deer", A},
    /* portable things */
    {"book", "books", T}, {"letter", "letters", T}, {"basket", "baskets", T},
    {"box", "boxes", T}, {"lamp", "lamps", T}, {"cup", "cups", T},
    {"bottle", "bottles", T}, {"coat", "coats", T}, {"hat", "hats", T},
    {"shoe", "shoes", T}, {"bag", "bags", T}, {"map", "maps", T},
    {"clock", "clocks", T}, {"bell", "bells", T}, {"apple", "apples", T},
    {"bread", "loaves", T}, {"cake", "cakes", T}, {"flower", "flowers", T},
    {"stone", "stones", T}, {"picture", "pictures", T}, {"candle", "candles", T},
    {"blanket", "blankets", T}, {"ball", "balls", T}, {"rope", "ropes", T},
    {"bucket", "buckets", T}, {"kite", "kites", T}, {"pencil", "pencils", T},
    {"ladder", "ladders", T}, {"shell", "shells", T}, {"coin", "coins", T},
    /* fixtures */
    {"table", "tables", F}, {"window", "windows", F}, {"door", "doors", F},
    {"wall", "walls", F}, {"fence", "fences", F}, {"tree", "trees", F},
    {"gate", "gates", F}, {"bench", "benches", F}, {"fire", "fires", F},
    {"stove", "stoves", F},
    /* places */
    {"house", "houses", L}, {"garden", "gardens", L}, {"river", "rivers", W},
    {"road", "roads", W}, {"bridge", "bridges", W}, {"forest", "forests", L},
    {"hill", "hills", W}, {"mountain", "mountains", L}, {"village", "villages", L},
    {"town", "towns", L}, {"city", "cities", L}, {"school", "schools", L},
    {"market", "markets", L}, {"kitchen", "kitchens", L}, {"field", "fields", W},
    {"lake", "lakes", L}, {"beach", "beaches", W}, {"station", "stations", L},
    {"library", "libraries", L}, {"farm", "farms", L}, {"harbor", "harbors", L},
    {"park", "parks", W}, {"valley", "valleys", W}, {"shop", "shops", L},
    {"street", "streets", W}, {"tower", "towers", L}, {"island", "islands", L},
    {"castle", "castles", L}, {"meadow", "meadows", W}, {"barn", "barns", L},
};
const size_t lc_wl_n_nouns = LC_ARRAY_LEN(lc_wl_nouns);

const wl_adj lc_wl_adjs[] = {
    {"old", P | A | T | F | L}, {"young", P | A}, {"small", A | T | F | L},
    {"large", A | T | F | L}, {"big", A | T | F | L}, {"little", P | A | T | L},
    {"tall", P | F}, {"quiet", P | A | L}, {"bright", T | F | L},
    {"dark", T | F | L}, {"warm", T | F | L}, {"cold", T | F | L},
    {"soft", T}, {"heavy", T | F}, {"light", T}, {"green", T | F | L},
    {"blue", T | F}, {"red", T | F}, {"yellow", T | F}, {"white", A | T | F},
    {"black", A | T | F}, {"brown", A | T | F}, {"gray", A | T | F},
    {"happy", P | A}, {"tired", P | A}, {"busy", P | L}, {"gentle", P | A},
    {"careful", P}, {"clever", P | A}, {"strange", P | A | T | L},
    {"simple", T | L}, {"empty", T | L}, {"full", T}, {"wooden", T | F},
    {"narrow", F | L}, {"wide", F | L}, {"deep", L}, {"long", T | F | L},
    {"fresh", T}, {"clean", T | F | L}, {"sweet", T}, {"wild", A | L},
    {"calm", P | A | L}, {"proud", P | A}, {"friendly", P | A}, {"golden", T},
    {"silver", T}, {"famous", P | L}, {"round", T | F}, {"rusty", T | F},
    {"brave", P | A}, {"kind", P}, {"shy", P | A}, {"hungry", P | A},
    {"sleepy", P | A}, {"new", T | F | L}, {"broken", T | F}, {"dusty", T | F | L},
    {"shiny", T}, {"noisy", P | A | L}, {"pretty", T | F | L}, {"lonely", P | A | L},
};
const size_t lc_wl_n_adjs = LC_ARRAY_LEN(lc_wl_adjs);

/* Transitive and intransitive verbs (past tense). */
const wl_verb lc_wl_verbs[] = {
    /* handling things */
    {"carried", P | A, T}, {"found", P | A, T}, {"lifted", P, T},
    {"dropped", P | A, T}, {"moved", P, T | F}, {"washed", P, T | F},
    {"cleaned", P, T | F}, {"painted", P, T | F}, {"bought", P, T},
    {"sold", P, T}, {"fixed", P, T | F}, {"packed", P, T},
    {"held", P, T}, {"kept", P, T}, {"brought", P | A, T},
    {"took", P, T}, {"borrowed", P, T}, {"shared", P, T},
    {"wrapped", P, T}, {"opened", P, T | F}, {"closed", P, T | F},
    {"mended", P, T | F}, {"polished", P, T}, {"dried", P, T},
    /* looking, meeting, visiting */
    {"saw", P | A, P | A | T | F | L}, {"watched", P | A, P | A | F | L},
    {"noticed", P | A, P | A | T | F}, {"liked", P | A, P | A | T | L},
    {"visited", P, L}, {"followed", P | A, P | A}, {"called", P, P | A},
    {"met", P, P}, {"helped", P, P}, {"fed", P, A}, {"greeted", P, P},
    {"passed", P | A, P | A | F | L}, {"left", P | A, T | L},
    /* intransitive */
    {"walked", P | A, 0}, {"ran", P | A, 0}, {"slept", P | A, 0},
    {"waited", P | A, 0}, {"laughed", P, 0}, {"sang", P, 0},
    {"danced", P, 0}, {"jumped", P | A, 0}, {"rested", P | A, 0},
    {"smiled", P, 0}, {"worked", P, 0}, {"played", P | A, 0},
    {"listened", P | A, 0}, {"stopped", P | A, 0}, {"wandered", P | A, 0},
    {"sat", P | A, 0}, {"stood", P | A, 0}, {"hurried", P | A, 0},
    {"whistled", P, 0}, {"nodded", P, 0}, {"paused", P | A, 0},
    {"stayed", P | A, 0}, {"read", P, 0}, {"cooked", P, 0},
};
const size_t lc_wl_n_verbs = LC_ARRAY_LEN(lc_wl_verbs);

const wl_verb lc_wl_motion_verbs[] = {
    {"walked", P | A, L}, {"ran", P | A, L}, {"hurried", P | A, L},
    {"went", P | A, L}, {"returned", P | A, L}, {"drove", P, L},
    {"rode", P, L}, {"came", P | A, L}, {"moved", P | A, L},
};
const size_t lc_wl_n_motion_verbs = LC_ARRAY_LEN(lc_wl_motion_verbs);

const wl_prep lc_wl_preps[] = {
    {"near", F | L}, {"behind", F | L}, {"under", F}, {"beside", F | L},
    {"across", WL_PATH}, {"along", WL_PATH}, {"inside", L}, {"above", F},
    {"around", F | L}, {"through", L}, {"past", F | L}, {"by", F | L},
    {"in", L}, {"at", F | L}, {"on", L}, {"outside", L},
};
const size_t lc_wl_n_preps = LC_ARRAY_LEN(lc_wl_preps);

const wl_name lc_wl_names[] = {
    {"Anna", true}, {"Tom", false}, {"Maria", true}, {"Ben", false},
    {"Lucy", true}, {"Sam", false}, {"Emma", true}, {"Jack", false},
    {"Nora", true}, {"Leo", false}, {"Rosa", true}, {"Paul", false},
    {"Clara", true}, {"Hugo", false}, {"Mia", true}, {"Oscar", false},
};
const size_t lc_wl_n_names = LC_ARRAY_LEN(lc_wl_names);

const wl_event lc_wl_events[] = {
    {"wind", "blew"}, {"rain", "fell"}, {"snow", "fell"}, {"sun", "shone"},
    {"moon", "rose"}, {"river", "flowed"}, {"bell", "rang"}, {"fire", "burned"},
    {"clock", "ticked"}, {"grass", "moved"}, {"light", "faded"}, {"fog", "lifted"},
};
const size_t lc_wl_n_events = LC_ARRAY_LEN(lc_wl_events);

#define WL_STRINGS(name, ...)                                                      \
    static const char *const name##_items[] = {__VA_ARGS__};                        \
    const wl_strings name = {name##_items, LC_ARRAY_LEN(name##_items)}

WL_STRINGS(lc_wl_adverbs, "slowly", "quickly", "quietly", "happily", "carefully", "gently", "loudly", "calmly",
           "patiently", "proudly", "softly", "again", "alone", "together");
WL_STRINGS(lc_wl_time_openers, "In the morning", "In the evening", "At night", "At noon", "After lunch",
           "After dinner", "Before breakfast", "Before dinner", "Later that day", "Last winter", "Last summer",
           "In the spring", "In the autumn", "Yesterday", "Long ago", "One morning", "One evening", "That night",
           "Every morning", "Early the next day");
WL_STRINGS(lc_wl_time_tails, "in the morning", "in the evening", "after lunch", "before dinner", "at night",
           "later that day", "yesterday", "last winter", "every morning", "that evening", "on the way home");
WL_STRINGS(lc_wl_det_sg, "the", "the", "the", "a", "a", "this", "that", "one", "our", "their", "every");
WL_STRINGS(lc_wl_det_pl, "the", "the", "some", "many", "several", "two", "three", "four", "these", "those", "our",
           "their");
WL_STRINGS(lc_wl_conj, "and", "but", "so");
WL_STRINGS(lc_wl_day_words, "day", "morning", "evening", "night", "week");
WL_STRINGS(lc_wl_day_adjs, "cold", "warm", "quiet", "long", "bright", "dark", "busy", "calm", "strange",
           "lonely");

/* The task phrases (tasks.c builds the needles and questions from these). */
WL_STRINGS(lc_wl_task_words, "The", "pass", "key", "is", "Remember", "it", "What", "the", "special", "magic",
           "number", "numbers", "for", "are", "all", "and", "Find", "variables", "that", "assigned", "value",
           "Answer", "VAR");

WL_STRINGS(lc_wl_keys, "river", "apple", "stone", "garden", "horse", "bridge", "candle", "forest", "letter",
           "island", "basket", "mountain", "rabbit", "tower", "blanket", "harbor", "pencil", "meadow", "owl",
           "castle", "kite", "valley", "bottle", "wolf", "lamp", "village", "shell", "barn", "clock", "fox",
           "ladder", "lake", "coin", "library", "goat", "rope", "station", "bucket", "frog", "street", "cake",
           "hill", "map", "duck", "beach", "bell", "field", "boat", "ship", "train", "road", "flower", "tree",
           "cup", "hat", "coat", "book", "box", "bag", "shoe", "bench", "gate", "fence", "door", "window");
