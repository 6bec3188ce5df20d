// a template that raises an error at run time (test_template.c)
//% local d = v.head_dim
#define HD ${d}

//% if d ~= 64 and d ~= 128 then
//%   error("head_dim " .. d .. " is not supported")
//% end
