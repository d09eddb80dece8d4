"""The math, code and knowledge lists of ``make_chat5.py``'s fifth set (fifty-second session)."""

# lists packed several to a line, as written:
# fmt: off
NAMES = ("Alice", "Ben", "Maya", "Omar", "Lena", "Sam", "Priya", "Tom", "Zoe", "Leo", "Nina", "Raj")
GOODS = (  # best buy: (product, unit, container)
    ("rice", "g", "bag"), ("orange juice", "ml", "bottle"), ("cereal", "g", "box"),
    ("olive oil", "ml", "bottle"), ("coffee", "g", "bag"), ("shampoo", "ml", "bottle"),
    ("pasta", "g", "pack"), ("dish soap", "ml", "bottle"), ("flour", "g", "bag"),
)
MATH_CONCEPTS = (
    "prime numbers", "the Pythagorean theorem", "the derivative of a polynomial",
    "negative numbers", "the order of operations", "exponents", "logarithms", "factorials",
    "the distributive property", "standard deviation", "limits in calculus",
    "the slope of a line", "permutations", "vectors", "matrices", "complex numbers",
    "the number pi", "irrational numbers", "significant figures", "scientific notation",
    "the Fibonacci sequence", "the binomial theorem", "modular arithmetic", "absolute value",
    "inequalities", "the sine and cosine of an angle", "the law of large numbers",
    "proof by induction", "Venn diagrams", "the chain rule", "integration", "place value",
)
# code: Python-centred conversation
PY_CONCEPTS = (
    "decorators", "generators", "list comprehensions", "context managers and the with statement",
    "*args and **kwargs", "lambda functions", "f-strings", "virtual environments",
    "the global interpreter lock", "dunder methods like __init__ and __repr__", "duck typing",
    "mutable default arguments", "slicing", "tuple unpacking", "iterators", "try/except/finally",
    "the if __name__ == '__main__' idiom", "dataclasses", "type hints", "closures",
    "the nonlocal keyword", "async and await", "the walrus operator", "the @property decorator",
    "class methods and static methods", "inheritance and super()", "modules and packages",
    "dictionary comprehensions", "the yield keyword", "abstract base classes",
)
ERRORS = (
    'TypeError: can only concatenate str (not "int") to str', "IndexError: list index out of "
    "range", "KeyError: 'name'", "NameError: name 'total' is not defined", "AttributeError: "
    "'NoneType' object has no attribute 'append'", "ModuleNotFoundError: No module named "
    "'requests'", "IndentationError: unexpected indent", "SyntaxError: invalid syntax",
    "ValueError: invalid literal for int() with base 10: 'abc'", "ZeroDivisionError: division "
    "by zero", "TypeError: 'int' object is not iterable", "TypeError: 'str' object does not "
    "support item assignment", "UnboundLocalError: local variable 'count' referenced before "
    "assignment", "RecursionError: maximum recursion depth exceeded", "FileNotFoundError: "
    "[Errno 2] No such file or directory: 'data.txt'", "TypeError: unhashable type: 'list'",
    "AttributeError: 'str' object has no attribute 'append'", "TypeError: greet() missing 1 "
    "required positional argument: 'name'", "RuntimeError: dictionary changed size during "
    "iteration", "ImportError: cannot import name 'helper' from partially initialized module "
    "'utils'", "UnicodeDecodeError: 'utf-8' codec can't decode byte 0xff in position 0",
    "TypeError: 'NoneType' object is not subscriptable", "ValueError: too many values to "
    "unpack (expected 2)", "TypeError: list indices must be integers or slices, not str",
    "json.decoder.JSONDecodeError: Expecting value: line 1 column 1 (char 0)",
    "PermissionError: [Errno 13] Permission denied: 'output.csv'", "OverflowError: math range "
    "error", "TabError: inconsistent use of tabs and spaces in indentation",
)
PYTHONIC = (  # after "What's the most Pythonic way to ...?" (none of chat_lists.TASKS)
    "sort a dictionary by its values", "merge two dictionaries", "remove a key from a "
    "dictionary", "check whether a file exists", "read command-line arguments", "pretty-print "
    "a dictionary as JSON", "loop over a list together with the index", "loop over two lists "
    "at the same time", "get the last element of a list", "copy a list without changing the "
    "original", "remove an item from a list by its value", "turn a list of pairs into a "
    "dictionary", "swap the keys and values of a dictionary", "keep the unique items of a list "
    "in their original order", "split a list into chunks of three", "format a number with two "
    "decimal places", "pad a number with leading zeros", "measure how long a piece of code "
    "takes", "run a shell command and capture its output", "create a folder if it does not "
    "exist", "delete a file", "get the file extension from a path", "walk through all files in "
    "a folder and its subfolders", "write a dictionary to a JSON file", "read an environment "
    "variable", "shuffle a list", "pick a random item from a list", "check the type of a "
    "variable", "sort a list of dictionaries by one key", "transpose a list of lists",
    "find all positions of a value in a list", "check whether a key is in a dictionary",
    "add ten days to a date", "count the days between two dates", "round a number to the "
    "nearest ten", "split a string on several delimiters", "strip punctuation from a string",
    "zip a folder into an archive", "repeat a string n times with a separator",
    "get the n largest items of a list",
)
CLASSES = (
    "a bank account with deposit and withdraw methods", "a to-do list that can add, remove and "
    "show tasks", "a shopping cart that totals its items", "a library that lends and returns "
    "books", "a playing card and a deck that can shuffle and deal", "a stopwatch that measures "
    "elapsed time", "an inventory of products with quantities", "a 2D point with a distance "
    "method", "a vector that supports addition with +", "a fraction that reduces itself",
    "a queue with a maximum size", "a contact book that searches by name", "a thermostat "
    "with a target setting", "a parking lot that tracks free spaces", "a simple bank of "
    "flashcards for studying", "a recipe with ingredients that can be scaled", "a movie "
    "rental store", "a polynomial that can be evaluated at x", "a rate limiter that allows "
    "five calls a second", "a board for tic-tac-toe", "an employee with a name, a role and a "
    "salary", "a money amount with a currency that refuses to add different currencies",
)
# untyped Python functions (type hints and docstrings; unit tests, held out)
FUNCS = (
    "def word_lengths(words):\n    return {w: len(w) for w in words}",
    "def clamp(x, lo, hi):\n    return max(lo, min(x, hi))",
    "def initials(name):\n    return ''.join(part[0].upper() for part in name.split())",
    "def is_leap(year):\n    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)",
    "def fizzbuzz(n):\n    if n % 15 == 0:\n        return 'FizzBuzz'\n    if n % 3 == 0:\n"
    "        return 'Fizz'\n    if n % 5 == 0:\n        return 'Buzz'\n    return str(n)",
    "def chunk(xs, size):\n    return [xs[i:i + size] for i in range(0, len(xs), size)]",
    "def celsius_to_kelvin(c):\n    return c + 273.15",
    "def count_words(text):\n    counts = {}\n    for w in text.lower().split():\n"
    "        counts[w] = counts.get(w, 0) + 1\n    return counts",
    "def median(xs):\n    s = sorted(xs)\n    mid = len(s) // 2\n    if len(s) % 2:\n"
    "        return s[mid]\n    return (s[mid - 1] + s[mid]) / 2",
    "def safe_div(a, b, default=None):\n    if b == 0:\n        return default\n    return a / b",
    "def slugify(title):\n    return '-'.join(title.lower().split())",
    "def parse_pair(text):\n    key, value = text.split('=', 1)\n    return key.strip(), "
    "value.strip()",
    "def apply_discount(price, percent):\n    return round(price * (100 - percent) / 100, 2)",
    "def last_n(xs, n):\n    return xs[-n:] if n > 0 else []",
    "def merge_counts(a, b):\n    out = dict(a)\n    for k, v in b.items():\n"
    "        out[k] = out.get(k, 0) + v\n    return out",
    "def running_total(xs):\n    out, total = [], 0\n    for x in xs:\n        total += x\n"
    "        out.append(total)\n    return out",
)
LOOPS = (  # code to refactor
    "result = []\nfor x in numbers:\n    if x > 0:\n        result.append(x * 2)",
    "total = 0\nfor i in range(len(prices)):\n    total = total + prices[i]",
    "names = []\nfor person in people:\n    names.append(person['name'])",
    "found = False\nfor item in items:\n    if item == target:\n        found = True\n"
    "        break",
    "squares = {}\nfor n in range(1, 11):\n    squares[n] = n * n",
    "i = 0\nwhile i < len(words):\n    print(i, words[i])\n    i += 1",
    "longest = ''\nfor w in words:\n    if len(w) > len(longest):\n        longest = w",
    "pairs = []\nfor a in xs:\n    for b in ys:\n        pairs.append((a, b))",
    "text = ''\nfor line in lines:\n    text = text + line + '\\n'",
    "f = open('data.txt')\ndata = f.read()\nf.close()",
    "evens = 0\nfor n in nums:\n    if n % 2 == 0:\n        evens += 1",
    "for k in list(d.keys()):\n    if d[k] is None:\n        del d[k]",
    "if x == 1 or x == 2 or x == 3 or x == 4:\n    print('small')",
    "upper = []\nfor s in strings:\n    upper.append(s.upper())",
)
SHELL = (  # none of chat_lists.TASKS
    "find all files ending in .log under the current folder", "show how much disk space each "
    "folder uses", "search every file in a folder for the word TODO", "see which process is "
    "using port 8080", "rename many files at once", "show the last 20 lines of a log file and "
    "keep following it", "make a script executable", "compress a folder into a tar.gz "
    "archive", "extract a zip file", "copy a folder to another machine over SSH", "check how "
    "much memory is free", "find the biggest files on the disk", "replace a word in a file "
    "without opening an editor", "download a file from a URL", "search my command history",
    "create an alias for a long command", "run a command every five minutes", "change the "
    "owner of a file", "show hidden files", "sort a file and drop duplicate lines", "print "
    "all environment variables", "check which version of Python is installed", "keep a "
    "command running after I log out", "print only the tenth line of a file", "check "
    "whether a website is reachable", "compare two text files", "show the full path of the "
    "current folder", "set an environment variable for one command only",
)
GIT = (  # held out
    "undo my last commit", "create a new branch and switch to it", "see what changed in a file "
    "since the last commit", "unstage a file", "rename a branch", "delete a remote branch",
    "change the message of my last commit", "discard my local changes to a file", "see the "
    "commit history as a graph", "stash my changes and bring them back later", "pull the "
    "latest changes from the remote", "resolve a merge conflict", "tag a release", "find "
    "which commit introduced a bug", "ignore a folder", "clone a repository into a specific "
    "folder", "see who last changed each line of a file", "squash my last three commits",
    "move a commit to another branch", "see the changes between two branches",
)
ALGOS = (
    "quicksort", "merge sort", "a hash table", "a binary search tree", "Dijkstra's shortest-"
    "path algorithm", "breadth-first search", "depth-first search", "dynamic programming",
    "a heap", "a trie", "a graph stored as an adjacency list", "an LRU cache", "the two-"
    "pointer technique", "the sliding-window technique", "memoization", "insertion sort",
    "a Bloom filter", "union-find", "topological sorting", "the knapsack problem", "Huffman "
    "coding", "a circular buffer", "backtracking", "the Sieve of Eratosthenes", "A* search",
    "consistent hashing", "counting sort",
)
CHOOSE = (  # "which Python data structure should I use to ..."
    "keep items in order and allow duplicates", "check quickly whether I have already seen an "
    "item", "map student names to their grades", "store a fixed pair of coordinates", "count "
    "how often each word appears", "process tasks first in, first out", "store settings that "
    "never change", "look up products by barcode", "keep the five highest scores at hand",
    "group emails by their domain", "represent a chessboard", "store records with named "
    "fields like name, age and email", "hold a grid of numbers", "keep a collection of unique "
    "tags", "keep an undo history in a text editor", "cache the results of a slow function",
    "store a large array of numbers for fast math", "remember which users are online",
    "return several values from a function", "build a phone book",
)
TOOLING = (
    "create a virtual environment", "install a package with pip", "save my project's "
    "dependencies to requirements.txt", "run a Python script with arguments", "format my code "
    "automatically", "find problems in my code with a linter", "debug a script with "
    "breakpoints", "profile a slow Python script", "package my code so others can pip install "
    "it", "use a different Python version for one project", "install packages from "
    "requirements.txt", "see which packages are installed", "build documentation for my project",
    "uninstall a package", "start using Jupyter notebooks", "make my script runnable as a "
    "command", "log messages instead of using print", "read a config file", "set up a "
    "pre-commit hook", "publish a package to PyPI",
)
# knowledge
DEFINE = (  # (field, term)
    ("economics", "opportunity cost"), ("economics", "supply and demand"), ("economics",
    "gross domestic product"), ("economics", "a recession"), ("economics", "comparative "
    "advantage"), ("economics", "diminishing returns"), ("economics", "a monopoly"),
    ("biology", "mitosis"), ("biology", "osmosis"), ("biology", "homeostasis"), ("biology",
    "an enzyme"), ("biology", "symbiosis"), ("biology", "a habitat"), ("biology", "a keystone "
    "species"), ("physics", "momentum"), ("physics", "entropy"), ("physics", "friction"),
    ("physics", "inertia"), ("physics", "kinetic energy"), ("physics", "a wavelength"),
    ("physics", "pressure"), ("computing", "bandwidth"), ("computing", "latency"),
    ("computing", "an operating system"), ("computing", "open-source software"), ("computing",
    "a firewall"), ("computing", "machine learning"), ("art", "chiaroscuro"), ("art",
    "impressionism"), ("art", "perspective"), ("art", "a still life"), ("art", "the golden "
    "ratio"), ("law", "habeas corpus"), ("law", "a tort"), ("law", "precedent"), ("law", "due "
    "process"), ("law", "copyright"), ("psychology", "cognitive dissonance"), ("psychology",
    "the placebo effect"), ("psychology", "confirmation bias"), ("music", "a chord"),
    ("music", "syncopation"), ("philosophy", "utilitarianism"), ("philosophy", "stoicism"),
    ("linguistics", "a metaphor"),
)
MECHANISMS = (
    "a thermostat", "a zipper", "a pin tumbler lock", "noise-cancelling headphones",
    "a touchscreen", "an elevator", "a pressure cooker", "a dishwasher", "an escalator",
    "a submarine", "a camera lens", "a QR code", "a smoke detector", "a flush toilet",
    "an induction cooktop", "a jet engine", "a parachute", "a vending machine",
    "a mechanical clock", "a hearing aid", "a thermometer", "a contactless card payment",
    "a vacuum cleaner", "a washing machine", "a car's brakes", "a bicycle's gears",
    "a fountain pen", "a lighthouse", "a canal lock", "a seismograph", "a metal detector",
    "an MRI scanner", "a fingerprint scanner", "a sailboat sailing into the wind",
    "a spray can", "an electric kettle",
)
WORDS = (  # word origins
    "salary", "quarantine", "robot", "sandwich", "alphabet", "disaster", "clue", "nightmare",
    "breakfast", "goodbye", "avocado", "tycoon", "ketchup", "jeans", "shampoo", "algebra",
    "boycott", "denim", "hazard", "jumbo", "panic", "sabotage", "tragedy", "OK", "hello",
    "deadline", "bankrupt", "candidate", "companion", "trivia", "mortgage", "pedigree", "emoji",
)
TRADITIONS = (
    "birthday cakes with candles", "April Fools' Day", "New Year's resolutions", "wedding rings",
    "tipping in restaurants", "shaking hands", "Halloween costumes", "the Christmas tree",
    "Valentine's Day cards", "fireworks at New Year", "saying 'bless you' after a sneeze",
    "the tooth fairy", "throwing the bride's bouquet", "Groundhog Day", "the Olympic torch "
    "relay", "knocking on wood", "clinking glasses in a toast", "graduation caps", "Easter eggs",
    "pumpkin carving", "pinatas", "Mother's Day", "lanterns at the Mid-Autumn Festival",
    "the siesta", "Day of the Dead altars",
)
CATEGORIES = (  # "Name five ..."
    "renewable energy sources", "citrus fruits", "string instruments", "board games for "
    "families", "marsupials", "reptiles", "herbs used in cooking", "programming paradigms",
    "types of rock", "simple machines", "martial arts", "birds that cannot fly", "nocturnal "
    "animals", "leafy greens", "types of pasta", "dog breeds that shed little", "team sports",
    "percussion instruments", "deciduous trees", "tropical fruits", "endangered animals",
    "types of bread", "yoga poses for beginners", "literary genres", "units of length",
    "famous painters of the Baroque era", "ancient civilizations", "spices used in curry",
    "winter sports", "careers in healthcare",
)
WHICH = (  # (what, a, b): "Which is {what}, {a} or {b}?"
    ("heavier", "a litre of olive oil", "a litre of milk"), ("faster", "a cheetah",
    "a racehorse"), ("older", "the wheel", "the alphabet"), ("longer", "a day on Venus",
    "a year on Venus"), ("louder", "a lion's roar", "a jet taking off"), ("older",
    "the Colosseum", "the Parthenon"), ("harder", "a sapphire", "a ruby"), ("brighter in the "
    "night sky", "Venus", "Sirius"), ("lighter", "helium", "hydrogen"), ("older", "chess",
    "backgammon"), ("bigger", "a megabyte", "a mebibyte"), ("more accurate", "a quartz watch",
    "a mechanical watch"), ("safer per mile travelled", "flying", "driving"),
    ("more nutritious", "brown rice", "white rice"), ("stronger for its weight", "titanium",
    "steel"), ("older", "paper money", "coins"), ("more energy-efficient", "an LED bulb",
    "an incandescent bulb"), ("longer-lived", "a parrot", "a cat"), ("deeper", "Lake "
    "Superior", "Lake Tanganyika"), ("higher in calories", "an avocado", "a banana"),
    ("more venomous", "a box jellyfish", "a cobra"), ("older", "the Eiffel Tower", "the Statue "
    "of Liberty"), ("heavier", "a cubic metre of sand", "a cubic metre of snow"),
    ("more flexible", "bamboo", "oak"), ("faster", "a sprinter", "a house cat"), ("bigger",
    "an ostrich egg", "a chicken egg"), ("more populous", "Canada", "Poland"), ("older",
    "the piano", "the violin"),
)
ROLES = (
    "an actuary", "a paralegal", "a sommelier", "a cartographer", "an epidemiologist",
    "a radiographer", "a UX designer", "a data analyst", "a speech therapist", "a court "
    "stenographer", "a structural engineer", "a museum curator", "a forensic accountant",
    "an urban planner", "a sound engineer", "a dietitian", "a patent attorney", "an archivist",
    "a locksmith", "a quantity surveyor", "a translator", "a park ranger", "a cryptographer",
    "a logistics coordinator", "a midwife", "a notary", "a copy editor", "a veterinary nurse",
    "a geologist", "an arborist", "an optometrist", "a social worker",
)
TOOLS = (  # "What is {t} used for?"
    "a spirit level", "a multimeter", "a mortar and pestle", "a slide rule", "a sextant",
    "a protractor", "a stethoscope", "an abacus", "a whetstone", "a torque wrench",
    "a soldering iron", "a tuning fork", "a colander", "a hygrometer", "a theodolite",
    "a potter's wheel", "a loom", "a metronome", "a plumb bob", "a caliper", "a hacksaw",
    "a stud finder", "an oscilloscope", "a centrifuge", "a Bunsen burner", "a pipette",
    "an anemometer", "a barometer", "a crowbar", "a sieve",
)
GAMES = (
    "chess", "cricket", "basketball", "sudoku", "poker", "rugby", "tennis", "badminton",
    "volleyball", "checkers", "mahjong", "backgammon", "curling", "baseball", "ice hockey",
    "table tennis", "bridge (the card game)", "Scrabble", "go (the board game)", "handball",
    "snooker", "golf", "fencing", "dominoes", "bowling", "lacrosse", "darts", "squash",
)
INVENTIONS = (
    "the light bulb", "the microscope", "the steam engine", "the sewing machine",
    "the typewriter", "photography", "the phonograph", "the X-ray machine", "the safety pin",
    "the ballpoint pen", "the paper clip", "the sticky note", "the traffic light",
    "the World Wide Web", "the compact disc", "the video game", "the spreadsheet",
    "the crossword puzzle", "the umbrella", "the parking meter", "the periodic table",
    "the stapler", "pasteurization", "the seatbelt", "the vacuum flask", "the windshield wiper",
    "the can opener", "Velcro", "bubble wrap", "the assembly line",
)
IDIOMS = (  # held out
    "break the ice", "bite the bullet", "a blessing in disguise", "the ball is in your court",
    "let the cat out of the bag", "hit the nail on the head", "under the weather",
    "spill the beans", "burn the midnight oil", "a piece of cake", "beat around the bush",
    "cut corners", "the elephant in the room", "on thin ice", "pull someone's leg",
    "barking up the wrong tree", "add insult to injury", "the last straw",
    "a penny for your thoughts", "when pigs fly", "throw in the towel",
    "jump on the bandwagon", "miss the boat", "sit on the fence",
    "kill two birds with one stone", "steal someone's thunder", "back to the drawing board",
    "rule of thumb", "break a leg", "raining cats and dogs",
)
WHATIF = (  # held out
    "the Moon disappeared", "humans no longer needed sleep", "the internet went down worldwide "
    "for a month", "there were no more insects", "the dinosaurs had not died out", "a day "
    "lasted 48 hours", "we found life on one of Saturn's moons", "money disappeared "
    "overnight", "nobody could tell a lie", "all cars became self-driving", "gravity "
    "switched off for one minute", "antibiotics stopped working", "people lived to 200",
    "we stopped making plastic tomorrow", "electricity stopped working everywhere", "oil ran "
    "out", "the printing press had never been invented", "robots did most jobs", "we could "
    "read each other's minds", "the Roman Empire had never fallen", "all volcanoes erupted "
    "at once", "humans could breathe underwater", "cash was banned", "all satellites "
    "suddenly failed", "nobody had invented the wheel", "the world's population doubled "
    "overnight", "everyone had a perfect memory", "it never rained again", "cats could talk",
    "the ice caps melted completely",
)
# fmt: on

if __name__ == "__main__":  # `--help`, and how many entries each list holds
    import argparse

    argparse.ArgumentParser(description=__doc__).parse_args()
    for name, value in sorted(globals().items()):
        if name.isupper() and isinstance(value, tuple | dict):
            print(f"{name}: {len(value)}")
