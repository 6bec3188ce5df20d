// a template whose Lua does not parse (test_template.c)
#define A ${v.a}
//% for i = 1, 3 do
//% if i == 2 then then
x ${i}
//% end
//% end
