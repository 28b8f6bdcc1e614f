# Makefile: shortcuts for dev.sh (which needs nothing but a shell)
.PHONY: demo test deps format
demo:
	./dev.sh demo
test:
	./dev.sh test
deps:
	./dev.sh deps
format:
	clang-format -i bot/*.c bot/*.h commands/*.c src/*.c src/*.h \
		include/prbot/*.h tests/*.c
