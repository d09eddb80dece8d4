"""The math, code and knowledge lists of ``make_chat6.py``'s sixth set (fifty-fifth session)."""

# lists packed several to a line, as written:
# fmt: off
# math: (item, unit price in cents) for receipts; things made and sold; recipe ingredients
SHOP = (  # (item, items, unit price in cents)
    ("notebook", "notebooks", 249), ("pen", "pens", 125), ("sandwich", "sandwiches", 575),
    ("coffee", "coffees", 340), ("T-shirt", "T-shirts", 1299), ("pair of socks", "pairs of "
    "socks", 450), ("loaf of bread", "loaves of bread", 289), ("bag of apples", "bags of "
    "apples", 399), ("candle", "candles", 825), ("phone case", "phone cases", 1499),
    ("box of tea", "boxes of tea", 375), ("lunch box", "lunch boxes", 999), ("towel",
    "towels", 1150), ("bottle of juice", "bottles of juice", 199), ("set of markers", "sets "
    "of markers", 675), ("mug", "mugs", 850),
)
MADE = ("cupcakes", "bracelets", "candles", "cookies", "greeting cards", "plant pots",
        "keychains", "lemonade cups", "bookmarks", "soap bars")
RECIPES = (  # held out: (dish, ingredient, unit, amount per person)
    ("pancakes", "flour", "g", 50), ("a curry", "rice", "g", 75), ("a soup", "lentils", "g",
    60), ("lasagne", "cheese", "g", 40), ("a fruit salad", "strawberries", "g", 90),
    ("muffins", "milk", "ml", 45), ("a risotto", "stock", "ml", 250), ("a chili", "beans",
    "g", 80), ("porridge", "oats", "g", 40), ("a pasta bake", "pasta", "g", 100),
)
CITIES = (  # held out: (city, UTC offset in hours), none of the fact probe's
    ("New York", -5), ("Chicago", -6), ("Denver", -7), ("Los Angeles", -8), ("Toronto", -5),
    ("Houston", -6), ("Sao Paulo", -3), ("Dubai", 4), ("Singapore", 8), ("Seoul", 9),
    ("Mumbai", 5.5), ("Nairobi", 3), ("Sydney", 10), ("Auckland", 12), ("Lagos", 1),
    ("Bangkok", 7), ("Reykjavik", 0), ("Lima", -5),
)
# code: languages other than Python
SPECS = (  # (name, what it does, examples): a function written to a specification
    ("countVowels", "returns how many vowels a string has", 'countVowels("banana") -> 3'),
    ("isPalindrome", "tells whether a word reads the same backwards", 'isPalindrome("level") '
     "-> true, isPalindrome(\"lever\") -> false"), ("clamp", "keeps a number between a lower "
    "and an upper bound", "clamp(15, 0, 10) -> 10, clamp(-2, 0, 10) -> 0"), ("capitalize",
    "upper-cases the first letter of every word", 'capitalize("hello big world") -> "Hello '
    'Big World"'), ("sumDigits", "adds up the digits of a whole number", "sumDigits(4096) -> "
    "19"), ("secondLargest", "returns the second largest distinct number in an array",
    "secondLargest([4, 9, 2, 9, 7]) -> 7"), ("runLength", "compresses repeated letters",
    'runLength("aaabcc") -> "a3b1c2"'), ("isLeapYear", "tells whether a year is a leap year",
    "isLeapYear(2024) -> true, isLeapYear(1900) -> false"), ("flatten", "flattens an array of "
    "arrays one level", "flatten([[1, 2], [3], []]) -> [1, 2, 3]"), ("wordCount", "counts the "
    "words in a line of text", 'wordCount("the cat sat") -> 3'), ("toTitleSlug", "turns a "
    "title into a URL slug", 'toTitleSlug("Hello, World!") -> "hello-world"'), ("rotate", "rotates "
    "an array left by k places", "rotate([1, 2, 3, 4, 5], 2) -> [3, 4, 5, 1, 2]"),
    ("fizzBuzzRange", "returns the FizzBuzz strings from 1 to n", 'fizzBuzzRange(5) -> ["1", '
    '"2", "Fizz", "4", "Buzz"]'), ("missingNumber", "finds the one number missing from 1..n",
    "missingNumber([1, 2, 4, 5]) -> 3"), ("dedupe", "removes repeated items but keeps the "
    "first of each", "dedupe([3, 1, 3, 2, 1]) -> [3, 1, 2]"), ("maxProfit", "finds the best "
    "profit from one buy and one later sell of a stock", "maxProfit([7, 1, 5, 3, 6, 4]) -> 5"),
    ("isAnagram", "tells whether two words use the same letters", 'isAnagram("listen", '
     '"silent") -> true'), ("chunkString", "splits a string into pieces of n characters",
    'chunkString("abcdefg", 3) -> ["abc", "def", "g"]'),
)
LANG_ERRORS = (  # (language, message)
    ("JavaScript", "TypeError: Cannot read properties of undefined (reading 'length')"),
    ("JavaScript", "ReferenceError: userName is not defined"), ("JavaScript", "TypeError: "
    "items.map is not a function"), ("JavaScript", "SyntaxError: Unexpected token '}'"),
    ("JavaScript", "Uncaught (in promise) TypeError: Failed to fetch"), ("Java",
    "java.lang.NullPointerException"), ("Java", "java.lang.ArrayIndexOutOfBoundsException: "
    "Index 5 out of bounds for length 5"), ("Java", "java.lang.ClassCastException: class "
    "java.lang.String cannot be cast to class java.lang.Integer"), ("Java", "error: incompatible "
    "types: possible lossy conversion from double to int"), ("Java", "java.util."
    "ConcurrentModificationException"), ("C", "Segmentation fault (core dumped)"), ("C",
    "warning: implicit declaration of function 'strlen'"), ("C", "undefined reference to "
    "`main'"), ("C++", "error: 'vector' was not declared in this scope"), ("Go", "panic: "
    "runtime error: index out of range [3] with length 3"), ("Go", "panic: assignment to entry "
    "in nil map"), ("Go", "declared and not used: count"), ("Go", "fatal error: all goroutines "
    "are asleep - deadlock!"), ("TypeScript", "Type 'string' is not assignable to type "
    "'number'."), ("TypeScript", "Object is possibly 'undefined'."), ("TypeScript", "Property "
    "'name' does not exist on type '{}'."), ("C#", "System.NullReferenceException: Object "
    "reference not set to an instance of an object"), ("C#", "System.FormatException: Input "
    "string was not in a correct format."), ("PHP", "Warning: Undefined variable $total"),
    ("Kotlin", "kotlin.UninitializedPropertyAccessException: lateinit property adapter has "
     "not been initialized"), ("Swift", "Fatal error: Unexpectedly found nil while unwrapping "
    "an Optional value"),
)
REGEXES = (
    r"^\d{3}-\d{4}$", r"^[A-Z][a-z]+$", r"\b\w+@\w+\.com\b", r"^#?([0-9a-fA-F]{6})$",
    r"^\s*$", r"(\d+)\s*(kg|g)", r"^(?=.*\d)(?=.*[a-z]).{8,}$", r"\bcolou?r\b",
    r"^\d{4}-\d{2}-\d{2}$", r"[^aeiou\s]+", r"^(\+\d{1,3})?\d{10}$", r"<[^>]+>",
    r"^[a-z0-9_-]{3,16}$", r"(\w)\1", r"^https?://", r"\$\d+(\.\d{2})?", r"^[^@]+@[^@]+$",
    r"\b(the|a|an)\b", r"^\d+(,\d{3})*$", r"^[01]+$",
)
HTTP = ("200", "201", "204", "301", "302", "304", "400", "401", "403", "404", "405", "409",
        "410", "413", "418", "422", "429", "500", "502", "503", "504")
SCHEMAS = (  # (tables, task): a query with joins or grouping
    ("customers(id, name, city) and orders(id, customer_id, amount, order_date)",
     "lists each customer's name with how much they have spent in total"),
    ("customers(id, name, city) and orders(id, customer_id, amount, order_date)",
     "finds the customers who have never placed an order"),
    ("customers(id, name, city) and orders(id, customer_id, amount, order_date)",
     "shows how many orders were placed in each city"),
    ("employees(id, name, department_id, salary) and departments(id, name)",
     "shows each department's name with its highest salary"),
    ("employees(id, name, department_id, salary) and departments(id, name)",
     "lists the departments with more than five employees"),
    ("employees(id, name, manager_id)", "lists every employee next to their manager's name"),
    ("students(id, name), courses(id, title) and enrollments(student_id, course_id, grade)",
     "lists each course title with the number of students enrolled"),
    ("students(id, name), courses(id, title) and enrollments(student_id, course_id, grade)",
     "finds the students enrolled in at least three courses"),
    ("products(id, name, category, price) and sales(id, product_id, quantity, sold_at)",
     "shows the revenue of each category last month"),
    ("products(id, name, category, price) and sales(id, product_id, quantity, sold_at)",
     "returns the top five products by units sold"),
    ("authors(id, name) and books(id, author_id, title, year)", "lists authors with how many "
     "books each has, most first"), ("authors(id, name) and books(id, author_id, title, "
     "year)", "finds authors whose every book came out after 2000"),
    ("users(id, email) and logins(user_id, logged_at)", "shows each user's most recent login"),
    ("users(id, email) and logins(user_id, logged_at)", "counts the logins per day over the "
     "last week"),
)
CONFIGS = (
    "Dockerfile for a small Node.js web app", "Dockerfile for a Flask app that listens on "
    "port 5000", "Makefile with build, run and clean targets for a small C project",
    "crontab line that runs backup.sh every night at 2 am", "crontab line that runs a script "
    "every 15 minutes on weekdays", "nginx server block that serves a static site from "
    "/var/www/site", "docker compose file for a web app with a PostgreSQL database",
    "GitHub Actions workflow that runs npm install and npm run build on every push",
    "systemd service file that starts a Node.js app and restarts it if it crashes",
    ".editorconfig that uses four spaces for Python and two for JavaScript",
    "ESLint config that enforces semicolons and single quotes",
    "Vite config for a React app on port 3000",
    ".htaccess rule that redirects every http request to https", "Procfile for a web "
    "app run with gunicorn", "Apache virtual host for example.org",
    "ssh config entry so that `ssh work` connects to a server with a given key",
)
SNIPPETS6 = (  # (language, code): comments, what it prints; a code review (held out)
    ("JavaScript", "const nums = [3, 8, 1, 5];\nconst big = nums.filter(n => n > 2).map(n => "
     "n * 10);\nconsole.log(big);"),
    ("JavaScript", "let s = '';\nfor (let i = 0; i < 4; i++) {\n  s += i % 2 === 0 ? 'a' : "
     "'b';\n}\nconsole.log(s);"),
    ("JavaScript", "const user = { name: 'Ana', age: 31 };\nconst { name, ...rest } = user;\n"
     "console.log(name, rest);"),
    ("TypeScript", "function greet(name: string, times = 2): string {\n  return (name + '! ')"
     ".repeat(times).trim();\n}\nconsole.log(greet('Hi'));"),
    ("Java", "int total = 0;\nfor (int i = 1; i <= 5; i++) {\n    if (i % 2 == 1) total += i;"
     "\n}\nSystem.out.println(total);"),
    ("Java", "String word = \"banana\";\nSystem.out.println(word.indexOf('n') + \" \" + word."
     "lastIndexOf('a'));"),
    ("Go", "nums := []int{4, 7, 1}\nsum := 0\nfor _, n := range nums {\n    sum += n\n}\n"
     "fmt.Println(sum, len(nums))"),
    ("Go", "m := map[string]int{\"a\": 1}\nm[\"b\"] = m[\"a\"] + 2\nfmt.Println(m[\"b\"], "
     "m[\"c\"])"),
    ("C", "int a[] = {2, 4, 6, 8};\nint n = sizeof(a) / sizeof(a[0]);\nprintf(\"%d %d\\n\", "
     "n, a[n - 1]);"),
    ("C", "int x = 7;\nint *p = &x;\n*p = *p * 3;\nprintf(\"%d\\n\", x);"),
    ("C#", "var words = new List<string> { \"pear\", \"fig\", \"apple\" };\nwords.Sort();\n"
     "Console.WriteLine(string.Join(\",\", words));"),
    ("Kotlin", "val xs = listOf(1, 2, 3, 4)\nprintln(xs.filter { it % 2 == 0 }.sum())"),
    ("PHP", "$a = [3, 1, 2];\nsort($a);\necho implode('-', $a);"),
    ("Swift", "let scores = [72, 95, 88]\nlet best = scores.max() ?? 0\nprint(\"Best: \\(best)"
     "\")"),
)
LANG_CONCEPTS = (  # (language, concept)
    ("JavaScript", "promises"), ("JavaScript", "closures"), ("JavaScript", "the event loop"),
    ("JavaScript", "hoisting"), ("JavaScript", "the this keyword"), ("JavaScript", "async/"
    "await"), ("TypeScript", "generics"), ("TypeScript", "union types"), ("TypeScript",
    "interfaces"), ("Java", "interfaces"), ("Java", "checked exceptions"), ("Java", "the "
    "static keyword"), ("Java", "garbage collection"), ("Go", "goroutines"), ("Go", "channels"),
    ("Go", "defer"), ("Go", "interfaces"), ("C", "pointers"), ("C", "malloc and free"), ("C",
    "header files"), ("C", "structs"), ("C#", "LINQ"), ("C#", "properties"), ("Kotlin",
    "null safety"), ("Kotlin", "data classes"), ("Swift", "optionals"), ("PHP", "sessions"),
)
DATA = (  # held out: (from, to, data)
    ("CSV", "JSON", "name,age,city\nAna,31,Lisbon\nBo,25,Oslo"),
    ("CSV", "JSON", "id,product,price\n1,lamp,19.99\n2,desk,120.00\n3,chair,45.50"),
    ("JSON", "CSV", '[{"title": "Dune", "year": 1965}, {"title": "Emma", "year": 1815}]'),
    ("JSON", "YAML", '{"server": {"host": "localhost", "port": 8080}, "debug": true}'),
    ("YAML", "JSON", "name: my-app\nversion: 1.2.0\ndependencies:\n  - express\n  - dotenv"),
    ("JSON", "XML", '{"book": {"title": "Ulysses", "pages": 730}}'),
    ("XML", "JSON", "<person><name>Kim</name><email>kim@example.com</email></person>"),
    ("CSV", "a Markdown table", "month,sales\nJan,120\nFeb,98\nMar,143"),
    ("JSON", "a Python dict literal", '{"a": null, "b": false, "c": [1, 2]}'),
    ("CSV", "SQL INSERT statements", "id,name\n1,Alice\n2,Bob"),
    ("YAML", "TOML", "title: Site\nowner:\n  name: Lee\n  email: lee@example.com"),
    ("JSON", "CSV", '{"rows": [{"x": 1, "y": 2}, {"x": 3, "y": 5}]}'),
)
# knowledge (none of the fact probe's words; none of the set-4 and set-5 topics)
TOPICS6 = (
    "supply and demand", "the placebo effect", "compound growth", "opportunity cost",
    "herd immunity", "cognitive dissonance", "the scientific method", "natural selection",
    "plate boundaries", "the greenhouse effect", "game theory", "the separation of powers",
    "machine learning", "public-key cryptography", "the Doppler effect", "entropy",
    "circadian rhythms", "the bystander effect", "comparative advantage", "biodiversity",
    "the nitrogen cycle", "quantum computing", "minimalism in design", "impressionism",
    "stoicism", "behavioural economics", "universal basic income", "the gig economy",
    "urban heat islands", "antibiotic resistance",
)
PEOPLE6 = (
    "Ada Lovelace", "Marie Curie", "Nelson Mandela", "Charles Darwin", "Frida Kahlo",
    "Nikola Tesla", "Rosa Parks", "Isaac Newton", "Galileo Galilei", "Cleopatra",
    "Confucius", "Mahatma Gandhi", "Florence Nightingale", "Johannes Gutenberg",
    "Wangari Maathai", "Alan Turing", "Grace Hopper", "Louis Pasteur", "Harriet Tubman",
    "Simon Bolivar", "Ibn Battuta", "Mansa Musa", "Srinivasa Ramanujan", "Rachel Carson",
    "Katherine Johnson", "Gregor Mendel", "Dmitri Mendeleev", "Hypatia", "Tim Berners-Lee",
    "Amelia Earhart",
)
EFFECTS = (  # (cause, what it acts on)
    ("caffeine", "reaction time"), ("rising prices", "household savings"), ("smartphone use",
    "attention spans"), ("deforestation", "rainfall"), ("regular exercise", "mood"),
    ("noise", "concentration"), ("remote work", "city centres"), ("tourism", "small "
    "islands"), ("automation", "jobs"), ("screen light", "falling asleep"), ("minimum wage "
    "rises", "small businesses"), ("sugar taxes", "what people buy"), ("music practice",
    "reading skills"), ("microplastics", "marine life"), ("loneliness", "health"), ("lower "
    "birth rates", "pension systems"), ("streaming", "the music industry"), ("online "
    "shopping", "high streets"), ("light pollution", "migrating birds"), ("cheap flights",
    "travel habits"), ("fast fashion", "the environment"), ("tax cuts", "public services"),
)
PROCESSES = (
    "a bill becoming a law", "applying for a mortgage", "an insurance claim",
    "a caterpillar turning into a butterfly", "the rock cycle", "making paper",
    "recycling aluminium cans", "a court trial", "a general election", "wound healing",
    "composting", "cheese making", "brewing beer", "a company going public",
    "a patent application", "a scientific paper being published", "a hurricane forming",
    "the nitrogen cycle", "glass making", "vaccine development", "a seed sprouting",
    "coffee roasting",
)
COMPARE = (  # (a, b)
    ("capitalism", "socialism"), ("renting", "buying a home"), ("nuclear fission", "fusion"),
    ("Baroque", "Classical music"), ("stocks", "bonds"), ("mitosis", "meiosis"),
    ("Realism", "Surrealism"), ("aerobic", "anaerobic exercise"), ("Stoicism",
    "Epicureanism"), ("a herbivore", "a carnivore"), ("common law", "civil law"), ("Keynesian",
    "monetarist economics"), ("hardwood", "softwood"), ("LED", "incandescent bulbs"),
    ("Gothic", "Romanesque architecture"), ("debit cards", "prepaid cards"), ("a blizzard",
    "an ice storm"), ("classical", "operant conditioning"), ("weather forecasting", "climate "
    "modelling"), ("nature", "nurture"),
)
ACRONYMS = (
    "NATO", "UNESCO", "GDP", "DNA", "NASA", "UNICEF", "IMF", "OPEC", "GIF", "CPU", "LED",
    "ISBN", "VAT", "ATM", "MRI", "HTTP", "ASAP", "RSVP", "CEO", "NGO", "EU", "WTO", "laser",
    "radar", "scuba", "PDF", "URL", "USB", "SIM card", "IQ",
)
FIELDS = (  # held out: timelines
    "aviation", "photography", "medicine", "computing", "astronomy", "anaesthesia", "the "
    "telegraph", "cinema", "the bicycle", "recorded music", "space exploration", "women's "
    "voting rights", "railways", "mobile phones", "the printing of books", "psychology",
    "video games", "robotics", "wind power", "surgery",
)
QUIZ = (  # held out: quiz topics
    "the Tudors", "world religions", "the human skeleton", "famous inventors", "the periodic "
    "table", "world flags", "Greek mythology", "classical composers", "famous explorers",
    "birds of prey", "the Olympics", "modern art", "knights and castles", "sharks", "famous "
    "bridges", "the Wild West", "chess history", "opera", "the Titanic", "cartoon history",
)
# fmt: on

if __name__ == "__main__":  # `--help`, and how many entries each list holds
    import argparse

    argparse.ArgumentParser(description=__doc__).parse_args()
    for name, value in sorted(globals().items()):
        if name.isupper() and isinstance(value, tuple):
            print(f"{name}: {len(value)}")
